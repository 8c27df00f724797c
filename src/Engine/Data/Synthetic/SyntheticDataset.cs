using System.Text.Json;

namespace BayesPfl.Engine.Data.Synthetic;

public sealed record SyntheticOptions
{
    public int Seed { get; init; }

    /// <summary>Image side in pixels (square images).</summary>
    public int Size { get; init; } = 128;

    /// <summary>Images per folder: train/good, test/good and each test/&lt;defect&gt; get this many.</summary>
    public int PerCategory { get; init; } = 8;

    /// <summary>Groups to write ("A", "B"); null = both.</summary>
    public IReadOnlyList<string>? Groups { get; init; }

    public const int MinSize = 32, MaxSize = 1024;
}

/// <summary>What <see cref="SyntheticDataset.Generate"/> wrote.</summary>
public sealed record SyntheticReport(string Root, IReadOnlyDictionary<string, IReadOnlyList<string>> Groups, int Images, int Masks)
{
    public override string ToString() =>
        $"{Root}: {Images} images and {Masks} masks in the MVTec-AD layout; " +
        string.Join("; ", Groups.Select(g => $"group {g.Key}: {string.Join(", ", g.Value)}"));
}

/// <summary>
/// A seeded, deterministic synthetic anomaly-detection dataset in the MVTec-AD layout (<c>&lt;cat&gt;/train/good</c>,
/// <c>&lt;cat&gt;/test/good</c>, <c>&lt;cat&gt;/test/&lt;defect&gt;</c>, <c>&lt;cat&gt;/ground_truth/&lt;defect&gt;/&lt;n&gt;_mask.png</c>), for
/// end-to-end tests and small training runs without the real datasets. Its categories form two disjoint groups of two
/// textures and two objects each, so that prompts can be trained on one group and evaluated zero-shot on the other, the
/// paper's cross-dataset protocol in miniature. Every image has its own generator keyed by (seed, category, folder,
/// index), so the files do not depend on the order they are written in or on which groups are asked for.
/// </summary>
public static class SyntheticDataset
{
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> AllGroups = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        ["A"] = ["fabric", "wood", "disc", "bottle"],
        ["B"] = ["grid", "stone", "nut", "pill"],
    };

    public static IReadOnlyList<string> DefectTypes => Defects.Types;

    /// <summary>Written next to the categories: seed, size and the groups, for a training script to pick its split.</summary>
    public const string ManifestName = "synthetic.json";

    public static SyntheticReport Generate(string root, SyntheticOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        if (options.Size is < SyntheticOptions.MinSize or > SyntheticOptions.MaxSize)
            throw new ArgumentOutOfRangeException(nameof(options), options.Size, $"image size must be {SyntheticOptions.MinSize}..{SyntheticOptions.MaxSize} px");
        if (options.PerCategory < 1) throw new ArgumentOutOfRangeException(nameof(options), options.PerCategory, "images per category must be at least 1");
        var unknown = options.Groups?.Where(g => !AllGroups.ContainsKey(g)).ToList() ?? [];
        if (unknown.Count > 0) throw new ArgumentException($"unknown group(s) {string.Join(", ", unknown)} (have: {string.Join(", ", AllGroups.Keys)})", nameof(options));
        var groups = AllGroups.Where(g => options.Groups is null || options.Groups.Contains(g.Key))
                              .ToDictionary(g => g.Key, g => g.Value, StringComparer.Ordinal);

        Directory.CreateDirectory(root);
        var jobs = new List<(string Category, string Folder, int Index)>();
        foreach (var category in groups.Values.SelectMany(c => c))
            foreach (var folder in new[] { "train/good", "test/good" }.Concat(Defects.Types.Select(d => "test/" + d)))
            {
                Directory.CreateDirectory(Path.Combine(root, category, folder));
                if (folder.StartsWith("test/", StringComparison.Ordinal) && folder != "test/good")
                    Directory.CreateDirectory(Path.Combine(root, category, "ground_truth", folder[5..]));
                for (var i = 0; i < options.PerCategory; i++) jobs.Add((category, folder, i));
            }
        var masks = 0;
        Parallel.ForEach(jobs, job =>
        {
            if (Write(root, options, job.Category, job.Folder, job.Index)) Interlocked.Increment(ref masks);
        });
        File.WriteAllText(Path.Combine(root, ManifestName), Manifest(options, groups));
        return new SyntheticReport(root, groups, jobs.Count, masks);
    }

    /// <summary>Renders and writes one image (and its mask for a defect); true when a mask was written.</summary>
    private static bool Write(string root, SyntheticOptions options, string category, string folder, int index)
    {
        var rng = SplitMix.For(options.Seed, category, folder, index.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var scene = Scenes.Render(category, options.Size, rng);
        var name = index.ToString("D3", System.Globalization.CultureInfo.InvariantCulture);
        var defect = folder.StartsWith("test/", StringComparison.Ordinal) && folder != "test/good" ? folder[5..] : null;
        bool[]? mask = defect is null ? null : Defects.Apply(defect, scene, rng);
        SensorNoise(scene.Image, rng);
        scene.Image.SavePng(Path.Combine(root, category, folder, name + ".png"));
        if (mask is null) return false;
        Canvas.SaveMask(Path.Combine(root, category, "ground_truth", defect!, name + "_mask.png"), mask, options.Size);
        return true;
    }

    // A little per-pixel noise on every image (normal ones too), so that "any deviation from smooth" is not a defect cue.
    private static void SensorNoise(Canvas image, SplitMix rng)
    {
        for (var i = 0; i < image.Pixels.Length; i++) image.Pixels[i] += (rng.Float() - 0.5f) * 0.03f;
    }

    private static string Manifest(SyntheticOptions options, Dictionary<string, IReadOnlyList<string>> groups)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("seed", options.Seed);
            json.WriteNumber("size", options.Size);
            json.WriteNumber("per_category", options.PerCategory);
            json.WriteStartObject("groups");
            foreach (var (group, categories) in groups)
            {
                json.WriteStartArray(group);
                foreach (var c in categories) json.WriteStringValue(c);
                json.WriteEndArray();
            }
            json.WriteEndObject();
            json.WriteStartArray("defects");
            foreach (var d in Defects.Types) json.WriteStringValue(d);
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }
}
