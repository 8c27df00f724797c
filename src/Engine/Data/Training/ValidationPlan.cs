using BayesPfl.Engine.Data.Datasets;

namespace BayesPfl.Engine.Data.Training;

public enum ValidationMode
{
    /// <summary>A seeded, per-category stratified hold-out of the training dataset, removed from training: model
    /// selection never sees the target data, so the evaluation stays zero-shot.</summary>
    SourceOnly,

    /// <summary>The reference's protocol (spec 9.5, 14.13): categories of the target dataset, a mild target leakage
    /// that the released checkpoints were selected with.</summary>
    TargetCategories,
}

/// <summary>
/// Which images train and which select the model after every epoch (spec 9.5). <see cref="Training"/> goes to
/// <see cref="TrainingSet.Open"/>; <see cref="Validation"/> to the evaluator (batch 1, R = 5).
/// </summary>
public sealed record ValidationPlan(ValidationMode Mode, Dataset Training, Dataset Validation)
{
    public const double DefaultFraction = 0.1;

    /// <summary>The target categories the reference validates on per target layout (spec 9.5): MVTec for a
    /// VisA-trained model, VisA for an MVTec-trained one.</summary>
    public static IReadOnlyList<string>? DefaultTargetCategories(DatasetLayout target) => target switch
    {
        DatasetLayout.MvTec => ["bottle", "hazelnut", "wood", "zipper", "leather"],
        DatasetLayout.Visa => ["chewinggum", "cashew", "pipe_fryum", "capsules", "candle"],
        _ => null,
    };

    /// <summary>
    /// Holds out round(fraction · n) of each category's normal images and, separately, of its anomalous ones, chosen
    /// by a shuffle keyed by (seed, category), so that every category is validated on both classes: at least one of
    /// each where the class has two or more images (one always stays in training; a class of one image is not held
    /// out). The training dataset keeps everything else, in its order.
    /// </summary>
    public static ValidationPlan SourceOnly(Dataset source, double fraction = DefaultFraction, ulong seed = 333)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!(fraction > 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "the validation fraction must be in (0, 1)");
        var training = new List<DatasetCategory>();
        var validation = new List<DatasetCategory>();
        foreach (var category in source.Categories)
        {
            // A stream keyed by the name (epoch −1: not a training epoch) keeps each category's split independent of the others.
            var rng = new AugmentRandom(seed, -1, StableHash(category.Name));
            var held = new HashSet<Sample>();
            foreach (var label in new[] { 0, 1 })
            {
                var pool = category.Samples.Where(s => s.Label == label).ToArray();
                if (pool.Length < 2) continue;
                var take = Math.Clamp((int)Math.Round(fraction * pool.Length, MidpointRounding.AwayFromZero), 1, pool.Length - 1);
                rng.Shuffle(pool.AsSpan());
                held.UnionWith(pool.Take(take));
            }
            training.Add(category with { Samples = category.Samples.Where(s => !held.Contains(s)).ToList() });
            if (held.Count > 0) validation.Add(category with { Samples = category.Samples.Where(held.Contains).ToList() });
        }
        if (validation.Count == 0)
            throw new DatasetException($"{source.Root}: too few images to hold out a validation set (every class of every category has fewer than 2)");
        return new ValidationPlan(ValidationMode.SourceOnly, source with { Categories = training },
                                  source with { Categories = validation, Warnings = [] });
    }

    /// <summary>
    /// Validates on categories of another dataset (its test split, masks required as for evaluation); null
    /// categories = <see cref="DefaultTargetCategories"/> for the target's layout. The whole source trains.
    /// </summary>
    public static ValidationPlan TargetCategories(Dataset source, string targetRoot, IReadOnlyList<string>? categories = null, DatasetLayout? targetLayout = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(targetRoot);
        if (Path.GetFullPath(targetRoot).TrimEnd(Path.DirectorySeparatorChar) == Path.GetFullPath(source.Root).TrimEnd(Path.DirectorySeparatorChar))
            throw new DatasetException($"{targetRoot}: the validation target is the training dataset itself; use the source-only hold-out instead");
        var layout = targetLayout ?? DatasetReader.Detect(targetRoot);
        categories ??= DefaultTargetCategories(layout)
                       ?? throw new DatasetException($"{targetRoot}: no default validation categories for the {layout} layout; name them");
        var validation = DatasetReader.Open(targetRoot, layout, new DatasetOptions { Split = DatasetSplit.Test, Categories = categories });
        return new ValidationPlan(ValidationMode.TargetCategories, source, validation);
    }

    /// <summary>FNV-1a of the name: a key that does not change with .NET's randomised string hashing.</summary>
    private static long StableHash(string name)
    {
        var h = 1469598103934665603UL;
        foreach (var ch in name) h = (h ^ ch) * 1099511628211UL;
        return (long)h;
    }
}
