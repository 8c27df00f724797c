using BayesPfl.Engine.Metrics;

namespace BayesPfl.Engine.Reports;

/// <summary>
/// ROC and precision-recall points of a binary score, highest threshold first, as the metric sweep behind
/// <see cref="BinaryMetrics"/> visits them (so the trapezoid area under the ROC points is its AUROC and
/// Σ ΔRecall·Precision over the PR points its AP). ROC starts at (0,0) and ends at (1,1); PR runs from the first
/// threshold to full recall, as scikit-learn's precision_recall_curve does, and starts at (recall 0, precision 1),
/// the point sklearn appends. Either is empty when a class is missing.
/// </summary>
public sealed record Curve(double[] Fpr, double[] Tpr, double[] Recall, double[] Precision)
{
    /// <summary>Points of per-image scores; every sweep point is kept.</summary>
    public static Curve Of(ReadOnlySpan<float> scores, ReadOnlySpan<byte> labels) =>
        Sweep([scores.ToArray()], [labels.ToArray()], 0);

    /// <summary>
    /// Points of per-pixel scores. A sweep over millions of pixels has millions of points; a point is kept when FPR,
    /// TPR or precision moved by more than <paramref name="resolution"/> since the last kept one (plus the last point
    /// of every 16-bit key bucket), which is invisible at plot size.
    /// </summary>
    public static Curve Of(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, double resolution = 1e-3) =>
        Sweep(maps, masks, resolution);

    private static Curve Sweep(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, double resolution)
    {
        long p = 0, total = 0;
        foreach (var m in masks)
        {
            total += m.Length;
            p += m.Length - m.AsSpan().Count((byte)0);
        }
        var n = total - p;
        if (p == 0 || n == 0) return new Curve([], [], [], []);
        var seed = new PointAccumulator(p, n, resolution);
        var points = ThresholdSweep.Run(maps, masks, null, [1.0], seed, SweepOptions.Default).Points();
        var fpr = new List<double> { 0 };
        var tpr = new List<double> { 0 };
        var recall = new List<double> { 0 };
        var precision = new List<double> { 1 };
        foreach (var (fp, tp) in points)
        {
            fpr.Add((double)fp / n);
            tpr.Add((double)tp / p);
            if (recall[^1] >= 1 || tp == 0) continue;
            recall.Add((double)tp / p);
            precision.Add((double)tp / (tp + fp));
        }
        return new Curve(fpr.ToArray(), tpr.ToArray(), recall.ToArray(), precision.ToArray());
    }

    /// <summary>Trapezoid area under the ROC points.</summary>
    public double RocArea()
    {
        double a = 0;
        for (var i = 1; i < Fpr.Length; i++) a += (Fpr[i] - Fpr[i - 1]) * (Tpr[i] + Tpr[i - 1]) / 2;
        return a;
    }

    /// <summary>Σ (R_i − R_{i−1})·P_i over the PR points: the step-wise AP.</summary>
    public double StepAp()
    {
        double a = 0;
        for (var i = 1; i < Recall.Length; i++) a += (Recall[i] - Recall[i - 1]) * Precision[i];
        return a;
    }

    /// <summary>
    /// The mean of several curves: TPR averaged at 201 evenly spaced FPR values and precision at 201 recall values,
    /// each curve linearly interpolated between its points (vertical averaging). Empty curves are left out.
    /// </summary>
    public static Curve Mean(IEnumerable<Curve> curves)
    {
        var used = curves.Where(c => c.Fpr.Length > 0).ToArray();
        if (used.Length == 0) return new Curve([], [], [], []);
        var grid = Enumerable.Range(0, 201).Select(i => i / 200.0).ToArray();
        var tpr = grid.Select(x => used.Average(c => Interpolate(c.Fpr, c.Tpr, x))).ToArray();
        var precision = grid.Select(x => used.Average(c => Interpolate(c.Recall, c.Precision, x))).ToArray();
        return new Curve(grid, tpr, grid, precision);
    }

    /// <summary>y at x along the polyline (xs ascending, ties allowed: the last point at that x wins); clamped at the ends.</summary>
    private static double Interpolate(double[] xs, double[] ys, double x)
    {
        if (x <= xs[0]) return ys[0];
        for (var i = 1; i < xs.Length; i++)
        {
            if (xs[i] < x) continue;
            if (xs[i] == xs[i - 1]) return ys[i];
            return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
        }
        return ys[^1];
    }
}

/// <summary>The sweep fold that records (fp, tp) points, thinned to <c>resolution</c> (0: all).</summary>
internal struct PointAccumulator(long positives, long negatives, double resolution) : ISweepAccumulator<PointAccumulator>
{
    private List<(long Fp, long Tp)> kept = [];
    private long lastFp, lastTp;
    private (long Fp, long Tp)? pending;

    public readonly PointAccumulator Start(long fp, long tp, double w) =>
        new(positives, negatives, resolution) { kept = [], lastFp = fp, lastTp = tp };

    public void Add(float threshold, long fp, long tp, double w)
    {
        if (resolution > 0 && !Moved(fp, tp))
        {
            pending = (fp, tp);
            return;
        }
        kept.Add((fp, tp));
        (lastFp, lastTp, pending) = (fp, tp, null);
    }

    private readonly bool Moved(long fp, long tp)
    {
        if ((fp - lastFp) > resolution * negatives || (tp - lastTp) > resolution * positives) return true;
        double before = lastTp + lastFp == 0 ? 1 : (double)lastTp / (lastTp + lastFp), now = (double)tp / (tp + fp);
        return Math.Abs(now - before) > resolution;
    }

    public readonly PointAccumulator Then(in PointAccumulator lower)
    {
        var r = this;
        if (pending is { } p) r.kept.Add(p);
        r.kept.AddRange(lower.kept);
        r.pending = lower.pending;
        return r;
    }

    public readonly IReadOnlyList<(long Fp, long Tp)> Points()
    {
        if (pending is { } p) kept.Add(p);
        return kept;
    }
}

/// <summary>A category's curves: image level on the fused score its image metrics use (spec 8), pixel level on the
/// blurred maps.</summary>
public sealed record CategoryCurves(string Category, Curve Image, Curve Pixel)
{
    public static CategoryCurves Of(Evaluation.CategoryOutputs o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var fused = ImageScore.Fuse(o.PImg, o.SMap).Select(v => (float)v).ToArray();
        return new CategoryCurves(o.Category, Curve.Of(fused, o.Labels), Curve.Of(o.Maps, o.Masks));
    }
}
