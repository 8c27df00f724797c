using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Evaluation;
using BayesPfl.Engine.Metrics;
using BayesPfl.Engine.Model;

namespace BayesPfl.Engine.Training;

/// <summary>
/// Validation of spec 9.5 with the inference path itself: a detector over the frozen CLIP weights and a view of
/// the parameters being trained (no copy, no file), R = 5 flow samples, batch 1, the sample cache reset before
/// each run and the same seeded samples every epoch (<see cref="TrainerRng.ValidationSeed"/>). Pixel AP on the
/// sigma-8 blurred maps against the binarised masks (as `eval`), image AP on p_img alone (the spec's minmax(p_img) is monotone, so AP is the same).
/// Categories where a metric is undefined (no anomalous pixel, a single image label) are left out of its mean.
/// </summary>
public sealed class ValidationSet : IValidator
{
    public const int Samples = 5;

    private readonly ClipWeights clip;
    private readonly IReadOnlyList<DatasetCategory> categories;
    private readonly ulong seed;

    public ValidationSet(ClipWeights clip, IReadOnlyList<DatasetCategory> categories, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(categories);
        if (categories.Count == 0 || categories.All(c => c.Samples.Count == 0))
            throw new ArgumentException("the validation set has no images", nameof(categories));
        if (!categories.SelectMany(c => c.Samples).Any(s => s.MaskPath is not null))
            throw new ArgumentException($"the validation set ({string.Join(", ", categories.Select(c => c.Name))}) has no anomaly masks: pixel AP, the stage-1 selection metric, is undefined", nameof(categories));
        this.clip = clip;
        this.categories = categories;
        this.seed = seed;
    }

    public int Images => categories.Sum(c => c.Samples.Count);

    public ValidationMetrics Validate(HeadParameters parameters, TrainingStage stage, int epoch)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var options = new DetectorOptions { Samples = Samples, Seed = TrainerRng.ValidationSeed(seed) };
        using var weights = parameters.AsWeights(stage2: stage != TrainingStage.One);
        using var detector = AnomalyDetector.Over(parameters.Backend, clip, weights, options);
        detector.ResetSampleCache();
        var pixel = new List<double>();
        var image = new List<double>();
        foreach (var category in categories)
        {
            var (p, i) = Score(detector, category);
            if (!double.IsNaN(p)) pixel.Add(p);
            if (!double.IsNaN(i)) image.Add(i);
        }
        if (pixel.Count == 0) throw new InvalidOperationException("validation: no category has both anomalous and normal pixels; pixel AP is undefined");
        return new ValidationMetrics(pixel.Average(), image.Count == 0 ? double.NaN : image.Average());
    }

    private static (double PixelAp, double ImageAp) Score(AnomalyDetector detector, DatasetCategory category)
    {
        var n = category.Samples.Count;
        var pImg = new float[n];
        var labels = new byte[n];
        var maps = new float[n][];
        var masks = new byte[n][];
        for (var i = 0; i < n; i++)
        {
            var sample = category.Samples[i];
            var r = detector.Detect([sample.ImagePath], category.ClassName)[0];
            pImg[i] = (float)r.PImg;
            labels[i] = (byte)(sample.IsAnomalous ? 1 : 0);
            maps[i] = r.Blurred;
            masks[i] = Evaluator.LoadMask(sample.MaskPath, detector.ImageSize);
        }
        var positives = masks.Sum(m => (long)m.Length - m.AsSpan().Count((byte)0));
        var total = masks.Sum(m => (long)m.Length);
        var pixelAp = positives > 0 && positives < total ? BinaryMetrics.Compute(maps, masks, BinaryMetrics.PixelEps).AveragePrecision : double.NaN;
        var anomalous = labels.Count(l => l != 0);
        var imageAp = anomalous > 0 && anomalous < n ? BinaryMetrics.Compute(pImg, labels, BinaryMetrics.ImageEps).AveragePrecision : double.NaN;
        return (pixelAp, imageAp);
    }
}
