using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Data.Training;

/// <summary>One image the loader may draw: its sample, its category's index in the dataset and its prompt name.</summary>
public sealed record TrainingItem(Sample Sample, int Category, string PromptName);

public sealed record TrainingSetOptions
{
    /// <summary>An anomalous image without a mask: an error before training (default), or trained on with an
    /// all-zero mask and a warning.</summary>
    public MissingMaskPolicy MissingMask { get; init; } = MissingMaskPolicy.Error;

    /// <summary>Decode every image and mask once up front (in parallel) rather than only reading their headers, so
    /// that a file whose pixel data is broken is dropped before training instead of in the middle of it.</summary>
    public bool DecodeCheck { get; init; } = true;

    public int Workers { get; init; } = Environment.ProcessorCount;
}

/// <summary>
/// A training dataset after the checks that can be made before the first step (spec 9.1 trains on a test split):
/// no empty dataset or category, masks present for anomalous images (or allowed to be absent), every image and
/// mask readable. Unreadable files are left out with a warning naming them; what cannot be trained on at all is a
/// <see cref="DatasetException"/> that names the files, so that a run fails at once and not at epoch 7.
/// </summary>
public sealed class TrainingSet
{
    /// <summary>How many file names an error lists before it says "and N more".</summary>
    private const int ListedFiles = 10;

    public Dataset Dataset { get; }

    /// <summary>The images to train on, in dataset order (the loader's shuffle permutes their indices).</summary>
    public IReadOnlyList<TrainingItem> Items { get; }

    /// <summary>The dataset's own warnings, then those of the checks, in a stable order.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Per category (dataset order): the indices into <see cref="Items"/> of its anomalous images, the
    /// pool the mosaic draws from.</summary>
    public IReadOnlyList<IReadOnlyList<int>> AnomalousByCategory { get; }

    private TrainingSet(Dataset dataset, List<TrainingItem> items, List<string> warnings)
    {
        (Dataset, Items, Warnings) = (dataset, items, warnings);
        AnomalousByCategory = dataset.Categories.Select((_, c) => (IReadOnlyList<int>)items.Select((item, i) => (item, i))
                                                  .Where(x => x.item.Category == c && x.item.Sample.IsAnomalous).Select(x => x.i).ToList()).ToList();
    }

    public static TrainingSet Open(Dataset dataset, TrainingSetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        options ??= new TrainingSetOptions();
        if (dataset.Categories.Count == 0) throw new DatasetException($"{dataset.Root}: the training dataset has no categories");
        var empty = dataset.Categories.Where(c => c.Samples.Count == 0).Select(c => c.Name).ToList();
        if (empty.Count > 0) throw new DatasetException($"{dataset.Root}: training categor{(empty.Count == 1 ? "y" : "ies")} {string.Join(", ", empty)} ha{(empty.Count == 1 ? "s" : "ve")} no images");

        var warnings = dataset.Warnings.ToList();
        var unmasked = dataset.Samples.Where(s => s.IsAnomalous && s.MaskPath is null).Select(s => s.ImagePath).ToList();
        if (unmasked.Count > 0 && options.MissingMask == MissingMaskPolicy.Error)
            throw new DatasetException($"{dataset.Root}: {unmasked.Count} anomalous training image(s) have no mask: {List(unmasked)} " +
                                       "(the segmentation loss needs them; allow missing masks to train on them with all-zero masks)");
        warnings.AddRange(unmasked.Select(p => $"{p}: anomalous training image has no mask; trained with an all-zero mask"));

        var candidates = dataset.Categories.SelectMany((c, ci) => c.Samples.Select(s => new TrainingItem(s, ci, c.PromptName))).ToList();
        var checks = new (bool Keep, string? Warning)[candidates.Count];
        Parallel.For(0, candidates.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Workers) },
                     i => checks[i] = Check(candidates[i].Sample, options.DecodeCheck));
        warnings.AddRange(checks.Select(c => c.Warning).OfType<string>());
        var items = candidates.Where((_, i) => checks[i].Keep).ToList();

        var lost = dataset.Categories.Where((_, ci) => !items.Any(item => item.Category == ci)).Select(c => c.Name).ToList();
        if (lost.Count > 0)
            throw new DatasetException($"{dataset.Root}: no readable training image left in categor{(lost.Count == 1 ? "y" : "ies")} {string.Join(", ", lost)}: " +
                                       List(checks.Where(c => !c.Keep).Select(c => c.Warning!).ToList()));
        return new TrainingSet(dataset, items, warnings);
    }

    /// <summary>Whether the sample can be trained on, and what to warn about: a file that cannot be read (it is
    /// left out), or a mask of another size than its image (it is resized to fit).</summary>
    private static (bool Keep, string? Warning) Check(Sample sample, bool decode)
    {
        var file = sample.ImagePath;
        try
        {
            var (w, h) = decode ? Size(ImageFile.LoadRgb(file)) : ImageFile.CheckHeader(file);
            if (sample.MaskPath is null) return (true, null);
            file = sample.MaskPath;
            var (mw, mh) = decode ? Size(ImageFile.LoadGray(file)) : ImageFile.CheckHeader(file);
            return (true, (mw, mh) == (w, h) ? null : $"{file}: mask is {mw}x{mh} but its image {sample.ImagePath} is {w}x{h}; resized to fit (nearest)");
        }
        catch (Exception e) when (IsBadFile(e))
        {
            return (false, SkipMessage(sample.ImagePath, file, e));
        }
    }

    private static (int, int) Size(Image8 image) => (image.Width, image.Height);

    /// <summary>"skipped IMAGE: ..." naming the image and, when the mask was at fault, the mask (the image IO's
    /// messages start with the file's path already).</summary>
    internal static string SkipMessage(string image, string file, Exception e)
    {
        var reason = e.Message.StartsWith(file, StringComparison.Ordinal) ? e.Message : $"{file}: {e.Message}";
        return file == image ? $"skipped {reason}" : $"skipped {image}: its mask {reason}";
    }

    /// <summary>The failures that mean "this file is broken or gone", as opposed to bugs or resource exhaustion.</summary>
    internal static bool IsBadFile(Exception e) => e is InvalidDataException or IOException or UnauthorizedAccessException;

    private static string List(IReadOnlyList<string> files) =>
        string.Join(", ", files.Take(ListedFiles)) + (files.Count > ListedFiles ? $" and {files.Count - ListedFiles} more" : "");
}
