namespace BayesPfl.Engine.Data.Datasets;

/// <summary>
/// A plain folder of one category: <c>normal/</c> and <c>abnormal/</c> images, masks in an optional <c>masks/</c> folder
/// named like the image (any extension) or <c>&lt;stem&gt;_mask.png</c>. The category is named after the root folder.
/// </summary>
internal static class FolderReader
{
    public const string Normal = "normal", Abnormal = "abnormal", Masks = "masks";

    public static Dataset Read(string root, DatasetOptions options)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)));
        var builder = new DatasetBuilder(root, DatasetLayout.Folder, options);
        builder.Declare(name, name);
        if (builder.Wants(name))
        {
            var masks = Path.Combine(root, Masks);
            foreach (var (folder, anomalous) in new[] { (Normal, false), (Abnormal, true) })
            {
                var dir = Path.Combine(root, folder);
                if (!Directory.Exists(dir)) continue;
                foreach (var image in DatasetBuilder.Images(dir))
                {
                    var stem = Path.GetFileNameWithoutExtension(image);
                    var mask = anomalous && Directory.Exists(masks)
                        ? DatasetBuilder.FirstExisting(Path.Combine(masks, Path.GetFileName(image)), Path.Combine(masks, stem + ".png"),
                                                       Path.Combine(masks, stem + "_mask.png"))
                        : null;
                    builder.Add(name, image, anomalous, mask, anomalous ? "anomaly" : "good", masks);
                }
            }
        }
        return builder.Build();
    }
}
