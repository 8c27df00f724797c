namespace BayesPfl.Engine.Metrics;

/// <summary>
/// Threshold-free metrics of a binary score, computed exactly as scikit-learn 1.2 computes them, with the
/// threshold rule "anomalous iff score &gt;= t" over the distinct scores t.
/// </summary>
/// <param name="Auroc">sklearn roc_auc_score: trapezoid over the ROC points of the distinct thresholds, (0,0)
/// included. Computed as an exact integer sum Σ Δfp·(tp + tp_prev), divided once by 2·P·N, so it is within
/// a few ulp of the exact value (sklearn's float64 trapezoid is within ~1e-15). NaN when either class is empty
/// (sklearn raises "Only one class present in y_true").</param>
/// <param name="AveragePrecision">sklearn average_precision_score: Σ (R_n − R_{n−1})·P_n over the distinct
/// thresholds, highest first, up to full recall. NaN when there is no anomalous sample.</param>
/// <param name="F1Max">max over sklearn's precision_recall_curve points of 2PR/(P+R+eps), evaluated in the same
/// float64 operation order as NumPy; the points after full recall are excluded as sklearn excludes them.
/// NaN when there is no anomalous sample.</param>
/// <param name="F1Threshold">the score at the maximum (always a score of an anomalous sample); on equal F1
/// values the lowest such threshold (NumPy's argmax over sklearn's ascending thresholds).</param>
/// <param name="IouAtF1">tp/(tp+fp+fn) at that threshold (the IoU the reference code logs).</param>
public readonly record struct BinaryMetrics(double Auroc, double AveragePrecision, double F1Max, float F1Threshold, double IouAtF1)
{
    /// <summary>Image-level eps in 2PR/(P+R+eps) (spec §10).</summary>
    public const double ImageEps = 1e-6;
    /// <summary>Pixel-level eps in 2PR/(P+R+eps) (spec §10).</summary>
    public const double PixelEps = 1e-8;

    /// <summary>Metrics of one score per sample (image level). labels: nonzero = anomalous.</summary>
    public static BinaryMetrics Compute(ReadOnlySpan<float> scores, ReadOnlySpan<byte> labels, double eps = ImageEps) =>
        Compute([scores.ToArray()], [labels.ToArray()], eps, SweepOptions.Default);

    /// <summary>Metrics over all pixels of all maps (pixel level); maps and masks pair up one to one.
    /// Threads and memory: see <see cref="SweepOptions"/>.</summary>
    public static BinaryMetrics Compute(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, double eps = PixelEps, SweepOptions? options = null)
    {
        long p = 0, total = 0;
        foreach (var mask in masks)
        {
            total += mask.Length;
            p += mask.Length - mask.AsSpan().Count((byte)0);
        }
        var seed = new CurveAccumulator(p, total - p, eps);
        return ThresholdSweep.Run(maps, masks, null, [1.0], seed, options ?? SweepOptions.Default).Result();
    }
}

/// <summary>The sweep fold behind <see cref="BinaryMetrics"/>; one instance per score bucket.</summary>
internal struct CurveAccumulator(long positives, long negatives, double eps) : ISweepAccumulator<CurveAccumulator>
{
    private long prevFp, prevTp;
    private long aucTwice;
    private double apSum;
    private bool hasBest;
    private double bestF1;
    private float bestThreshold;
    private long bestTp, bestFp;

    public readonly CurveAccumulator Start(long fp, long tp, double w) =>
        new(positives, negatives, eps) { prevFp = fp, prevTp = tp };

    public void Add(float threshold, long fp, long tp, double w)
    {
        aucTwice += (fp - prevFp) * (tp + prevTp);
        if (positives > 0 && prevTp < positives)
        {
            var precision = (double)tp / (tp + fp);
            apSum += (tp - prevTp) * precision;
            var recall = (double)tp / positives;
            var f1 = 2 * precision * recall / (precision + recall + eps);
            if (!hasBest || f1 >= bestF1) { hasBest = true; bestF1 = f1; bestThreshold = threshold; bestTp = tp; bestFp = fp; }
        }
        prevFp = fp;
        prevTp = tp;
    }

    public readonly CurveAccumulator Then(in CurveAccumulator lower)
    {
        var r = this;
        r.aucTwice += lower.aucTwice;
        r.apSum += lower.apSum;
        if (lower.hasBest && (!hasBest || lower.bestF1 >= bestF1))
        {
            r.hasBest = true; r.bestF1 = lower.bestF1; r.bestThreshold = lower.bestThreshold; r.bestTp = lower.bestTp; r.bestFp = lower.bestFp;
        }
        return r;
    }

    public readonly BinaryMetrics Result()
    {
        var auroc = positives > 0 && negatives > 0 ? aucTwice / (2.0 * positives * negatives) : double.NaN;
        if (positives == 0) return new BinaryMetrics(auroc, double.NaN, double.NaN, float.NaN, double.NaN);
        return new BinaryMetrics(auroc, apSum / positives, bestF1, bestThreshold, (double)bestTp / (positives + bestFp));
    }
}
