namespace BayesPfl.Engine.Data.Datasets;

/// <summary>
/// Collects the samples a reader finds and applies the checks every layout shares: requested categories exist, no
/// category is empty, listed files exist, anomalous images have masks (or a warning, per <see cref="MissingMaskPolicy"/>).
/// </summary>
internal sealed class DatasetBuilder(string root, DatasetLayout layout, DatasetOptions options)
{
    private readonly SortedDictionary<string, (string ClassName, List<Sample> Samples)> categories = new(StringComparer.Ordinal);
    private readonly List<string> warnings = [];

    public string Root => root;

    public DatasetOptions Options => options;

    /// <summary>Whether the caller asked for this category (all are wanted when no list was given).</summary>
    public bool Wants(string category) => options.Categories is null || options.Categories.Contains(category, StringComparer.Ordinal);

    /// <summary>Declares a category, so that one without samples is reported as empty rather than unknown.</summary>
    public void Declare(string category, string className)
    {
        if (!categories.ContainsKey(category)) categories[category] = (className, []);
    }

    /// <summary>Adds a sample; <paramref name="where"/> names the listing it came from or, for folder layouts, where its
    /// mask was looked for, for error messages.</summary>
    public void Add(string category, string image, bool anomalous, string? mask, string defect, string where)
    {
        if (!categories.TryGetValue(category, out var entry)) throw new InvalidOperationException($"category '{category}' was not declared");
        if (options.CheckFilesExist && !File.Exists(image)) throw new DatasetException($"{where}: image file {image} does not exist");
        if (mask is not null && options.CheckFilesExist && !File.Exists(mask))
            throw new DatasetException($"{where}: mask file {mask} for {image} does not exist");
        if (anomalous && mask is null) MissingMask($"{where}: anomalous image {image} has no mask");
        entry.Samples.Add(new Sample(image, anomalous ? 1 : 0, anomalous ? mask : null, defect));
    }

    private void MissingMask(string message)
    {
        if (options.MissingMask == MissingMaskPolicy.Error)
            throw new DatasetException(message + " (masks are required for evaluation; allow missing masks to read it anyway)");
        warnings.Add(message);
    }

    public Dataset Build()
    {
        if (options.Categories is { } requested)
        {
            var unknown = requested.Where(c => !categories.ContainsKey(c)).ToList();
            if (unknown.Count > 0)
                throw new DatasetException($"{root}: unknown categor{(unknown.Count == 1 ? "y" : "ies")} {string.Join(", ", unknown)} " +
                                           $"(the {layout} dataset has: {string.Join(", ", categories.Keys)})");
        }
        var chosen = categories.Where(kv => Wants(kv.Key)).ToList();
        if (chosen.Count == 0) throw new DatasetException($"{root}: no categories found for the {layout} layout ({options.Split} split)");
        foreach (var (name, entry) in chosen)
            if (entry.Samples.Count == 0) throw new DatasetException($"{root}: category '{name}' has no {options.Split.ToString().ToLowerInvariant()} images");
        var list = chosen.Select(kv => new DatasetCategory(kv.Key, kv.Value.ClassName,
                                                             kv.Value.Samples.OrderBy(s => s.ImagePath, StringComparer.Ordinal).ToList())).ToList();
        return new Dataset(root, layout, options.Split, list, warnings);
    }

    public static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"];

    /// <summary>The image files of a folder (by extension, case-insensitive), in ordinal order.</summary>
    public static IEnumerable<string> Images(string dir) =>
        Directory.EnumerateFiles(dir)
                 .Where(f => ImageExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                 .Order(StringComparer.Ordinal);

    /// <summary>The first of the candidate paths that exists, or null.</summary>
    public static string? FirstExisting(params string[] candidates) => candidates.FirstOrDefault(File.Exists);

    public static string SplitFolder(DatasetSplit split) => split == DatasetSplit.Train ? "train" : "test";
}
