using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Detection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace BayesPfl.Engine.Reports;

/// <summary>
/// What `infer --out DIR` writes: per image &lt;stem&gt;.map.png (the blurred map at the image's size, 8-bit grey,
/// value·255) and &lt;stem&gt;.overlay.png (<see cref="HeatmapOverlay"/>), each written atomically as it comes; and
/// one record per image in results.jsonl and results.csv, written when <see cref="Finish"/> is called, so that the
/// record files exist only for a run that got to its end. Two inputs with the same file stem get "-2", "-3", ...
/// With no folder, nothing is written. Every record names the precision mode the towers ran in.
/// </summary>
public sealed class InferenceRecords(string? dir, string className, double imageThreshold, double pixelThreshold, string thresholdSource,
    DetectorPrecision precision = DetectorPrecision.Fp32)
{
    public const string JsonLinesName = "results.jsonl", CsvName = "results.csv";

    public static readonly string[] CsvColumns =
        ["path", "class", "score", "p_img", "s_map", "top_k", "threshold", "pixel_threshold", "anomalous", "map", "overlay", "precision"];

    private readonly StringBuilder jsonl = new();
    private readonly StringBuilder csv = new StringBuilder().AppendJoin(',', CsvColumns).Append('\n');
    private readonly HashSet<string> stems = new(StringComparer.Ordinal);

    /// <summary>Writes the image's PNGs and keeps its record.</summary>
    public void Add(AnomalyResult d, bool anomalous)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (dir is null) return;
        var stem = Stem(d.Path);
        var mapFile = Path.Combine(dir, stem + ".map.png");
        var overlayFile = Path.Combine(dir, stem + ".overlay.png");
        SaveGray(mapFile, d.BlurredAtImageSize, d.ImageWidth, d.ImageHeight);
        HeatmapOverlay.Save(overlayFile, ImageFile.LoadRgb(d.Path), d.BlurredAtImageSize, pixelThreshold);
        var score = ImageDecision.Score(d.PImg, d.SMap);
        jsonl.Append(Json(d, score, anomalous, mapFile, overlayFile)).Append('\n');
        string[] cells = [Quote(d.Path), Quote(className), R(score), R(d.PImg), R(d.SMap), d.TopK.ToString(CultureInfo.InvariantCulture),
            R(imageThreshold), R(pixelThreshold), anomalous ? "true" : "false", Quote(mapFile), Quote(overlayFile), precision.Name()];
        csv.AppendJoin(',', cells).Append('\n');
    }

    /// <summary>Writes results.jsonl and results.csv (atomically); returns the paths written.</summary>
    public IReadOnlyList<string> Finish()
    {
        if (dir is null) return [];
        var files = new[] { Path.Combine(dir, JsonLinesName), Path.Combine(dir, CsvName) };
        AtomicFile.WriteText(files[0], jsonl.ToString());
        AtomicFile.WriteText(files[1], csv.ToString());
        return files;
    }

    private string Stem(string path)
    {
        var stem = Path.GetFileNameWithoutExtension(path);
        var unique = stem;
        for (var n = 2; !stems.Add(unique); n++) unique = $"{stem}-{n}";
        return unique;
    }

    private string Json(AnomalyResult d, float score, bool anomalous, string mapFile, string overlayFile)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("path", d.Path);
            w.WriteString("class", className);
            w.WriteNumber("p_img", d.PImg);
            w.WriteNumber("s_map", d.SMap);
            w.WriteNumber("top_k", d.TopK);
            w.WriteBoolean("anomalous", anomalous);
            w.WriteString("map", mapFile);
            w.WriteString("score_kind", ImageDecision.ScoreKind);
            w.WriteNumber("score", score);
            w.WriteNumber("threshold", imageThreshold);
            w.WriteNumber("pixel_threshold", pixelThreshold);
            w.WriteString("threshold_source", thresholdSource);
            w.WriteString("overlay", overlayFile);
            w.WriteString("precision", precision.Name());
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    private static void SaveGray(string path, float[] map, int width, int height)
    {
        var bytes = new byte[map.Length];
        for (var i = 0; i < map.Length; i++) bytes[i] = (byte)Math.Round(Math.Clamp(map[i], 0f, 1f) * 255f);
        using var image = Image.LoadPixelData<L8>(bytes, width, height);
        AtomicFile.Write(path, temp => image.SaveAsPng(temp));
    }
}
