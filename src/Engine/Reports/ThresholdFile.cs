using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace BayesPfl.Engine.Reports;

/// <summary>F1-adaptive thresholds of one category (NaN: not defined there, e.g. no anomalous pixel).</summary>
public sealed record CategoryThreshold(string Category, int Normal, int Anomalous, double ImageThreshold, double ImageF1,
    double PixelThreshold, double PixelF1);

/// <summary>
/// The threshold sidecar of a head file, <c>&lt;head&gt;.threshold.json</c> next to it: the F1-adaptive image and pixel
/// thresholds fitted by `eval --save-threshold` on a labelled set, pooled over its categories and per category, with
/// the score they apply to (<see cref="ImageDecision"/>) and where they came from. `infer` uses the entry of its
/// --class when there is one and the pooled thresholds otherwise. Written atomically; NaN is stored as null; strings
/// are not HTML-escaped (the file is read by people and JSON parsers, not embedded in pages).
/// </summary>
public sealed record ThresholdFile(double ImageThreshold, double ImageF1, double PixelThreshold, double PixelF1,
    string Dataset, string Layout, IReadOnlyList<CategoryThreshold> Categories)
{
    public const string Format = "bayespfl.threshold";
    public const int FormatVersion = 1;

    public string ScoreKind { get; init; } = ImageDecision.ScoreKind;

    public string PixelScoreKind { get; init; } = ImageDecision.PixelScoreKind;

    public string EngineVersion { get; init; } = Version;

    /// <summary>The Engine assembly's informational version (what built the thresholds).</summary>
    public static string Version =>
        typeof(ThresholdFile).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    /// <summary>The sidecar path of a head file: head.safetensors → head.threshold.json.</summary>
    public static string PathFor(string headPath) => Path.ChangeExtension(headPath, ".threshold.json");

    /// <summary>The category entry of <paramref name="className"/> (ordinal, case-insensitive), or null.</summary>
    public CategoryThreshold? For(string className) =>
        Categories.FirstOrDefault(c => string.Equals(c.Category, className, StringComparison.OrdinalIgnoreCase));

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("format_version", FormatVersion);
            w.WriteString("engine_version", EngineVersion);
            w.WriteString("score", ScoreKind);
            w.WriteString("pixel_score", PixelScoreKind);
            w.WriteString("rule", "anomalous iff score >= threshold; thresholds maximise F1 on the labelled set");
            Number(w, "image_threshold", ImageThreshold);
            Number(w, "image_f1", ImageF1);
            Number(w, "pixel_threshold", PixelThreshold);
            Number(w, "pixel_f1", PixelF1);
            w.WriteString("dataset", Dataset);
            w.WriteString("layout", Layout);
            w.WriteStartArray("categories");
            foreach (var c in Categories)
            {
                w.WriteStartObject();
                w.WriteString("category", c.Category);
                w.WriteNumber("normal", c.Normal);
                w.WriteNumber("anomalous", c.Anomalous);
                Number(w, "image_threshold", c.ImageThreshold);
                Number(w, "image_f1", c.ImageF1);
                Number(w, "pixel_threshold", c.PixelThreshold);
                Number(w, "pixel_f1", c.PixelF1);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    public void Save(string path) => AtomicFile.WriteText(path, ToJson());

    /// <summary>Reads a sidecar; anything that is not one of this format and version is an error naming the file.</summary>
    public static ThresholdFile Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"{path}: threshold file not found", path);
        }
        try
        {
            using var doc = JsonDocument.Parse(text);
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object || !r.TryGetProperty("format", out var f) || f.GetString() != Format)
                throw new InvalidDataException($"{path}: not a bayespfl threshold file (no \"format\": \"{Format}\")");
            var version = r.GetProperty("format_version").GetInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"{path}: threshold file format version {version}; this engine reads version {FormatVersion}");
            var score = r.GetProperty("score").GetString();
            if (score != ImageDecision.ScoreKind)
                throw new InvalidDataException($"{path}: thresholds are for the score \"{score}\"; this engine decides on \"{ImageDecision.ScoreKind}\"");
            var categories = r.GetProperty("categories").EnumerateArray().Select(c => new CategoryThreshold(
                c.GetProperty("category").GetString()!, c.GetProperty("normal").GetInt32(), c.GetProperty("anomalous").GetInt32(),
                Read(c, "image_threshold"), Read(c, "image_f1"), Read(c, "pixel_threshold"), Read(c, "pixel_f1"))).ToArray();
            return new ThresholdFile(Read(r, "image_threshold"), Read(r, "image_f1"), Read(r, "pixel_threshold"), Read(r, "pixel_f1"),
                r.GetProperty("dataset").GetString()!, r.GetProperty("layout").GetString()!, categories)
            {
                ScoreKind = score,
                PixelScoreKind = r.GetProperty("pixel_score").GetString()!,
                EngineVersion = r.GetProperty("engine_version").GetString()!,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: malformed threshold file ({e.Message})", e);
        }
    }

    private static double Read(JsonElement e, string name)
    {
        var v = e.GetProperty(name);
        return v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble();
    }
}
