using BayesPfl.Engine.Evaluation;
using BayesPfl.Engine.Metrics;

namespace BayesPfl.Engine.Reports;

/// <summary>
/// F1-adaptive thresholds (issue 6 item 4): the image threshold maximising F1 of the per-image decision score
/// (<see cref="ImageDecision"/>) and the pixel threshold maximising pixel F1 of the blurred maps, both from the metric
/// sweep behind <see cref="BinaryMetrics"/> (its F1Threshold: the lowest score reaching the maximum, rule score ≥ t).
/// Per category exactly; pooled over categories: the image threshold exactly (the scores are few) and the pixel
/// threshold from <see cref="PooledPixelF1"/>, since the maps of all categories are not held at once.
/// </summary>
public sealed class ThresholdSelection
{
    private readonly List<CategoryThreshold> categories = [];
    private readonly List<float> scores = [];
    private readonly List<byte> labels = [];
    private readonly PooledPixelF1 pixels = new();

    /// <summary>The category's thresholds; the pixel F1 maximum is the one eval reports as pixel_f1max.</summary>
    /// <param name="pixelSweep">the category's pixel metrics when they are already computed (<see cref="Evaluator.Score(CategoryOutputs, Host.IGpu?, out BinaryMetrics?)"/>),
    /// so that the maps are swept once; null: computed here</param>
    public static CategoryThreshold Of(CategoryOutputs o, BinaryMetrics? pixelSweep = null)
    {
        ArgumentNullException.ThrowIfNull(o);
        var (imageT, imageF1) = Image(DecisionScores(o), o.Labels);
        double pixelT = double.NaN, pixelF1 = double.NaN;
        if (HasBothClasses(o.Masks))
        {
            var m = pixelSweep ?? BinaryMetrics.Compute(o.Maps, o.Masks, BinaryMetrics.PixelEps);
            (pixelT, pixelF1) = (m.F1Threshold, m.F1Max);
        }
        var anomalous = o.Labels.Count(l => l != 0);
        return new CategoryThreshold(o.Category, o.Labels.Length - anomalous, anomalous, imageT, imageF1, pixelT, pixelF1);
    }

    public static float[] DecisionScores(CategoryOutputs o) =>
        o.PImg.Select((p, i) => ImageDecision.Score(p, o.SMap[i])).ToArray();

    /// <summary>(threshold, F1) maximising F1 of "score ≥ t"; NaN unless both classes are present.</summary>
    public static (double Threshold, double F1) Image(float[] scores, byte[] labels)
    {
        var anomalous = labels.Count(l => l != 0);
        if (anomalous == 0 || anomalous == labels.Length) return (double.NaN, double.NaN);
        var m = BinaryMetrics.Compute(scores, labels, BinaryMetrics.ImageEps);
        return (m.F1Threshold, m.F1Max);
    }

    private static bool HasBothClasses(IReadOnlyList<byte[]> masks)
    {
        long positives = masks.Sum(m => (long)m.Length - m.AsSpan().Count((byte)0));
        return positives > 0 && positives < masks.Sum(m => (long)m.Length);
    }

    /// <summary>Adds a category: its own thresholds, and its scores and pixels to the pooled ones.</summary>
    /// <param name="pixelSweep">as in <see cref="Of"/></param>
    public CategoryThreshold Add(CategoryOutputs o, BinaryMetrics? pixelSweep = null)
    {
        var entry = Of(o, pixelSweep);
        categories.Add(entry);
        scores.AddRange(DecisionScores(o));
        labels.AddRange(o.Labels);
        for (var i = 0; i < o.Maps.Count; i++) pixels.Add(o.Maps[i], o.Masks[i]);
        return entry;
    }

    public ThresholdFile Build(string dataset, string layout)
    {
        if (categories.Count == 0) throw new InvalidOperationException("no category was added to the threshold selection");
        var (imageT, imageF1) = Image(scores.ToArray(), labels.ToArray());
        var (pixelT, pixelF1) = pixels.Best();
        return new ThresholdFile(imageT, imageF1, pixelT, pixelF1, dataset, layout, categories.ToArray());
    }
}

/// <summary>
/// Pixel F1-max over many maps without holding them: counts of normal and anomalous pixels per 2^20 bins of the
/// sweep's order-preserving float key (sign, exponent and 11 mantissa bits: bins 2^-11 relative wide). The candidate
/// thresholds are the bins' lowest values, and every pixel of a bin is ≥ its lowest value, so the F1 reported is the
/// exact F1 of the threshold reported; the threshold is the best of the bin edges, within a bin of the exact one.
/// </summary>
public sealed class PooledPixelF1
{
    private const int Shift = 12;
    private readonly long[] negatives = new long[1 << (32 - Shift)];
    private readonly long[] positives = new long[1 << (32 - Shift)];

    public void Add(float[] map, byte[] mask)
    {
        if (map.Length != mask.Length) throw new ArgumentException($"map has {map.Length} values but its mask {mask.Length}", nameof(mask));
        for (var i = 0; i < map.Length; i++)
        {
            if (float.IsNaN(map[i])) throw new ArgumentException($"map has NaN at pixel {i}", nameof(map));
            var bin = ThresholdSweep.Key(map[i]) >> Shift;
            if (mask[i] == 0) negatives[bin]++;
            else positives[bin]++;
        }
    }

    /// <summary>(threshold, F1) with the F1 rule of <see cref="BinaryMetrics"/> (pixel eps); NaN without both classes.</summary>
    public (double Threshold, double F1) Best()
    {
        long p = positives.Sum(), n = negatives.Sum(), tp = 0, fp = 0;
        if (p == 0 || n == 0) return (double.NaN, double.NaN);
        double best = -1, threshold = double.NaN;
        for (var b = positives.Length - 1; b >= 0 && tp < p; b--)
        {
            if (positives[b] == 0 && negatives[b] == 0) continue;
            tp += positives[b];
            fp += negatives[b];
            if (tp == 0) continue;
            double precision = (double)tp / (tp + fp), recall = (double)tp / p;
            var f1 = 2 * precision * recall / (precision + recall + BinaryMetrics.PixelEps);
            if (f1 >= best) (best, threshold) = (f1, ThresholdSweep.FromKey((uint)b << Shift));
        }
        return (threshold, best);
    }
}
