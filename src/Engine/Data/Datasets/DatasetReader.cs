namespace BayesPfl.Engine.Data.Datasets;

/// <summary>Reads a dataset from disk in one of the supported layouts, or recognises the layout from what the root holds.</summary>
public static class DatasetReader
{
    public static Dataset Open(string root, DatasetLayout? layout = null, DatasetOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        options ??= new DatasetOptions();
        if (!Directory.Exists(root))
            throw new DatasetException(File.Exists(root) ? $"{root}: is a file, expected a dataset folder" : $"{root}: dataset folder does not exist");
        return (layout ?? Detect(root)) switch
        {
            DatasetLayout.MvTec => MvTecReader.ReadMvTec(root, options),
            DatasetLayout.Btad => MvTecReader.ReadBtad(root, options),
            DatasetLayout.Visa => VisaReader.Read(root, options),
            DatasetLayout.MetaJson => MetaJsonReader.Read(root, options),
            DatasetLayout.Folder => FolderReader.Read(root, options),
            var other => throw new ArgumentOutOfRangeException(nameof(layout), other, "unknown dataset layout"),
        };
    }

    /// <summary>
    /// The layout of a dataset folder, by its landmarks in this order: meta.json (it takes precedence because the ZSAD
    /// repositories add one to MVTec and VisA trees and evaluate from it), VisA's split list, normal/abnormal folders,
    /// BTAD's ok/ko folders, MVTec's per-category test/ or train/ folders.
    /// </summary>
    public static DatasetLayout Detect(string root)
    {
        if (!Directory.Exists(root)) throw new DatasetException($"{root}: dataset folder does not exist");
        if (File.Exists(Path.Combine(root, MetaJsonReader.FileName))) return DatasetLayout.MetaJson;
        if (File.Exists(Path.Combine(root, VisaReader.ListPath))) return DatasetLayout.Visa;
        if (Directory.Exists(Path.Combine(root, FolderReader.Normal)) || Directory.Exists(Path.Combine(root, FolderReader.Abnormal)))
            return DatasetLayout.Folder;
        var categories = Directory.EnumerateDirectories(root).ToList();
        if (categories.Any(c => Directory.Exists(Path.Combine(c, "test", "ok")) || Directory.Exists(Path.Combine(c, "test", "ko"))))
            return DatasetLayout.Btad;
        if (categories.Any(c => Directory.Exists(Path.Combine(c, "test")) || Directory.Exists(Path.Combine(c, "train"))))
            return DatasetLayout.MvTec;
        throw new DatasetException($"{root}: not a recognised dataset layout (looked for meta.json, {VisaReader.ListPath}, " +
                                   $"{FolderReader.Normal}/ + {FolderReader.Abnormal}/, <category>/test/ok|ko, <category>/test/<defect>)");
    }
}
