namespace BayesPfl.Engine.Data.Datasets;

/// <summary>
/// MVTec-AD and anything written in its layout (the synthetic generator, MPDD): <c>&lt;cat&gt;/&lt;split&gt;/&lt;defect&gt;/*.png</c>
/// with <c>good</c> the normal images, masks <c>&lt;cat&gt;/ground_truth/&lt;defect&gt;/&lt;stem&gt;_mask.png</c>. Also BTAD, whose tree
/// is the same with <c>ok</c>/<c>ko</c> folders and masks named like the image (spec §4.3 gives its class names).
/// </summary>
internal static class MvTecReader
{
    private sealed record Flavour(DatasetLayout Layout, string Normal, Func<string, string> ClassName, Func<string, string, string, string?> Mask);

    private static readonly Flavour MvTec = new(DatasetLayout.MvTec, "good", name => name,
        (groundTruth, defect, stem) => DatasetBuilder.FirstExisting(Path.Combine(groundTruth, defect, stem + "_mask.png")));

    // BTAD's numbered products and the class names the reference's meta-json uses for them, in folder order.
    private static readonly Dictionary<string, string> BtadClasses = new(StringComparer.Ordinal)
    {
        ["01"] = "metal1", ["02"] = "wood", ["03"] = "metal2",
    };

    // BTAD masks share the image's stem, mostly as PNG next to BMP or PNG images; some copies keep BMP or add "_mask".
    private static readonly Flavour Btad = new(DatasetLayout.Btad, "ok", name => BtadClasses.GetValueOrDefault(name, name),
        (groundTruth, defect, stem) => DatasetBuilder.FirstExisting(Path.Combine(groundTruth, defect, stem + ".png"),
                                                                    Path.Combine(groundTruth, defect, stem + ".bmp"),
                                                                    Path.Combine(groundTruth, defect, stem + "_mask.png")));

    public static Dataset ReadMvTec(string root, DatasetOptions options) => Read(root, options, MvTec);

    public static Dataset ReadBtad(string root, DatasetOptions options) => Read(root, options, Btad);

    private static Dataset Read(string root, DatasetOptions options, Flavour flavour)
    {
        var builder = new DatasetBuilder(root, flavour.Layout, options);
        var split = DatasetBuilder.SplitFolder(options.Split);
        foreach (var catDir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(catDir);
            var splitDir = Path.Combine(catDir, split);
            // Folders without any split folder are not categories (license files, README folders and the like).
            if (!Directory.Exists(Path.Combine(catDir, "test")) && !Directory.Exists(Path.Combine(catDir, "train"))) continue;
            builder.Declare(name, flavour.ClassName(name));
            if (!builder.Wants(name)) continue;
            if (!Directory.Exists(splitDir)) throw new DatasetException($"{catDir}: category '{name}' has no {split}/ folder");
            var groundTruth = Path.Combine(catDir, "ground_truth");
            foreach (var defectDir in Directory.EnumerateDirectories(splitDir).Order(StringComparer.Ordinal))
            {
                var defect = Path.GetFileName(defectDir);
                var anomalous = defect != flavour.Normal;
                foreach (var image in DatasetBuilder.Images(defectDir))
                {
                    var mask = anomalous ? flavour.Mask(groundTruth, defect, Path.GetFileNameWithoutExtension(image)) : null;
                    builder.Add(name, image, anomalous, mask, defect, Path.Combine(groundTruth, defect));
                }
            }
        }
        return builder.Build();
    }
}
