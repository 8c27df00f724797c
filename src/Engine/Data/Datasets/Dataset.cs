using BayesPfl.Engine.Text;

namespace BayesPfl.Engine.Data.Datasets;

/// <summary>One image of a dataset: label 0 = normal, 1 = anomalous; the mask is null for normal images
/// (an all-zero mask is implied) and for anomalous ones whose mask is absent and allowed to be.</summary>
public sealed record Sample(string ImagePath, int Label, string? MaskPath, string DefectType)
{
    public bool IsAnomalous => Label == 1;
}

/// <summary>One category (object or texture class) of a dataset.</summary>
/// <param name="Name">The dataset's own spelling (folder name or meta-json key), used to select it and to report results.</param>
/// <param name="ClassName">The class name the reference implementation passes to the prompt, before the tokenizer's
/// rename table (spec §4.3) turns it into prompt words: the same as <paramref name="Name"/> except for BTAD's numbered
/// folders and meta-json keys, which are lower-cased.</param>
public sealed record DatasetCategory(string Name, string ClassName, IReadOnlyList<Sample> Samples)
{
    /// <summary>The words that follow "X " in this category's prompt (spec §4.3), e.g. "metal nut" for metal_nut.</summary>
    public string PromptName => ClassNames.PromptName(ClassName);

    public int AnomalousCount => Samples.Count(s => s.IsAnomalous);
    public int NormalCount => Samples.Count - AnomalousCount;
}

/// <summary>A dataset split read from disk: its categories in a stable (ordinal) order, plus the non-fatal problems
/// found while reading it (for example anomalous images without masks under <see cref="MissingMaskPolicy.Warn"/>).</summary>
public sealed record Dataset(string Root, DatasetLayout Layout, DatasetSplit Split, IReadOnlyList<DatasetCategory> Categories, IReadOnlyList<string> Warnings)
{
    public DatasetCategory Category(string name) =>
        Categories.FirstOrDefault(c => c.Name == name)
        ?? throw new DatasetException($"{Root}: no category '{name}' (have: {string.Join(", ", Categories.Select(c => c.Name))})");

    public IEnumerable<Sample> Samples => Categories.SelectMany(c => c.Samples);
}

public enum DatasetLayout
{
    /// <summary><c>&lt;cat&gt;/{train,test}/&lt;defect&gt;/*.png</c>, <c>good</c> = normal, masks <c>&lt;cat&gt;/ground_truth/&lt;defect&gt;/&lt;name&gt;_mask.png</c>.</summary>
    MvTec,
    /// <summary><c>split_csv/1cls.csv</c> with columns object,split,label,image,mask (paths relative to the root).</summary>
    Visa,
    /// <summary><c>&lt;01|02|03&gt;/{train,test}/{ok,ko}/*</c>, masks <c>&lt;cat&gt;/ground_truth/ko/&lt;stem&gt;.png</c>.</summary>
    Btad,
    /// <summary>The zero-shot AD repositories' <c>meta.json</c>: {"train"|"test": {cat: [{img_path, mask_path, cls_name, specie_name, anomaly}]}}.</summary>
    MetaJson,
    /// <summary>A plain folder: <c>normal/</c>, <c>abnormal/</c> and optional <c>masks/</c> with matching file names (one category).</summary>
    Folder,
}

public enum DatasetSplit { Train, Test }

/// <summary>What to do with an anomalous image whose dataset gives no mask: evaluation needs every mask, inference does not.</summary>
public enum MissingMaskPolicy { Error, Warn }

public sealed record DatasetOptions
{
    public DatasetSplit Split { get; init; } = DatasetSplit.Test;

    /// <summary>Categories to read (dataset spelling); null = all. Naming one that does not exist is an error.</summary>
    public IReadOnlyList<string>? Categories { get; init; }

    public MissingMaskPolicy MissingMask { get; init; } = MissingMaskPolicy.Error;

    /// <summary>Check that every listed image and mask file exists (meta.json and VisA list them without the reader seeing them).</summary>
    public bool CheckFilesExist { get; init; } = true;
}

/// <summary>A dataset on disk is missing, malformed or does not contain what was asked; the message names the path.</summary>
public sealed class DatasetException(string message) : Exception(message);
