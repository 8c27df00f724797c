namespace BayesPfl.Engine.Metrics;

/// <summary>
/// Area under the per-region-overlap (PRO) curve. Regions are the 8-connected components of each ground-truth
/// mask (<see cref="ConnectedComponents"/>); PRO(t) = mean over all regions of all maps of the fraction of
/// the region's pixels whose score passes t; FPR(t) = fraction of all normal pixels whose score passes t.
/// Two definitions are in use and give different numbers:
/// <list type="bullet">
/// <item><see cref="Mvtec"/>: the definition of MVTec AD's reference evaluation code (compute_pro with
/// 8-connected regions, trapezoid with x_max = 0.3, divided by 0.3). Every distinct score is a threshold
/// (score &gt;= t), the curve starts at (0,0), ends at (1,1), is piecewise linear, and is integrated up to
/// FPR = limit with linear interpolation at the limit. anomalib uses the same regions (OpenCV/kornia
/// 8-connectivity), limit and normalisation, but assembles the curve from per-region ROC curves interpolated
/// onto a common FPR grid, so its values can differ in the last digits.</item>
/// <item><see cref="SpecVariant"/>: the function in Bayes-PFL's metric file (spec §10): 200 thresholds
/// t_i = min + i·(max−min)/200, i = 0..199, over all maps; a pixel passes when score &gt; t_i (strictly);
/// thresholds with FPR &lt; limit are kept, their FPRs rescaled by their own min and max to [0,1], and the PRO
/// values integrated over them by the trapezoid rule (sklearn.metrics.auc). The Python original builds the
/// thresholds with float32 np.arange, which can yield 201 of them; here they are computed in float64.</item>
/// </list>
/// Both return NaN when there is no anomalous region or no normal pixel; the variant also when fewer than two
/// thresholds are kept or the kept FPRs are all equal (0/0 in the rescaling).
/// </summary>
public static class Aupro
{
    public const double DefaultFprLimit = 0.3;
    public const int SpecThresholds = 200;

    /// <summary>MVTec / anomalib AUPRO, normalised to [0,1]. All maps are height x width.</summary>
    public static double Mvtec(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, int height, int width,
        double fprLimit = DefaultFprLimit, SweepOptions? options = null)
    {
        if (!(fprLimit > 0 && fprLimit <= 1)) throw new ArgumentOutOfRangeException(nameof(fprLimit), fprLimit, "must be in (0, 1]");
        var regions = Regions.Find(masks, height, width, options ?? SweepOptions.Default);
        if (regions.Count == 0 || regions.NormalPixels == 0) return double.NaN;
        var seed = new ProAccumulator(regions.NormalPixels, regions.Count, fprLimit);
        return ThresholdSweep.Run(maps, masks, regions.PositiveIds, regions.InverseSizes, seed, options ?? SweepOptions.Default).Area / fprLimit;
    }

    /// <summary>The spec §10 AUPRO variant (see the class comment). All maps are height x width.</summary>
    public static double SpecVariant(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, int height, int width,
        double fprLimit = DefaultFprLimit, int thresholds = SpecThresholds, SweepOptions? options = null)
    {
        var opt = options ?? SweepOptions.Default;
        var regions = Regions.Find(masks, height, width, opt);
        if (regions.Count == 0 || regions.NormalPixels == 0) return double.NaN;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var m in maps)
            foreach (var s in m)
            {
                if (float.IsNaN(s)) throw new ArgumentException("score maps contain NaN", nameof(maps));
                min = Math.Min(min, s); max = Math.Max(max, s);
            }
        var (t, delta) = SpecGrid(min, max, thresholds);

        // above[r][b] counts region r's pixels passing exactly the thresholds 0..b-1 (b = #thresholds below the score).
        var regionHist = new long[regions.Count, thresholds + 1];
        var normalHist = new long[thresholds + 1];
        Parallel.For(0, maps.Count, new ParallelOptions { MaxDegreeOfParallelism = opt.ThreadCount }, () => new long[thresholds + 1], (m, _, local) =>
        {
            var ids = regions.PositiveIds[m];
            var pc = 0;
            var s = maps[m];
            var y = masks[m];
            for (var i = 0; i < s.Length; i++)
            {
                var bin = Passed(t, min, delta, s[i]);
                if (y[i] == 0) local[bin]++;
                else regionHist[ids![pc++], bin]++;
            }
            return local;
        }, local => { lock (normalHist) for (var b = 0; b <= thresholds; b++) normalHist[b] += local[b]; });
        return SpecArea(regionHist, normalHist, regions, fprLimit);
    }

    /// <summary>The variant's thresholds t_i = min + i·(max−min)/count, in float64, and their spacing.</summary>
    internal static (double[] T, double Delta) SpecGrid(float min, float max, int count)
    {
        var delta = ((double)max - min) / count;
        var t = new double[count];
        for (var i = 0; i < count; i++) t[i] = min + i * delta;
        return (t, delta);
    }

    /// <summary>The variant's area from the pixel counts per bin b = number of thresholds the pixel passes:
    /// regionHist[r, b] for each region's pixels, normalHist[b] for the normal pixels.</summary>
    internal static double SpecArea(long[,] regionHist, long[] normalHist, Regions regions, double fprLimit)
    {
        var thresholds = normalHist.Length - 1;
        var fpr = new double[thresholds];
        var pro = new double[thresholds];
        for (var r = 0; r < regions.Count; r++)
        {
            long above = 0;
            for (var i = thresholds - 1; i >= 0; i--)
            {
                above += regionHist[r, i + 1];
                pro[i] += above * regions.InverseSizes[r];
            }
        }
        long fp = 0;
        for (var i = thresholds - 1; i >= 0; i--)
        {
            fp += normalHist[i + 1];
            fpr[i] = (double)fp / regions.NormalPixels;
            pro[i] /= regions.Count;
        }
        return RescaledTrapezoid(fpr, pro, fprLimit);
    }

    /// <summary>Keeps the FPR &lt; limit suffix (FPR falls with the threshold index), rescales it to [0,1] and
    /// integrates PRO over it as sklearn.metrics.auc does for a decreasing x.</summary>
    private static double RescaledTrapezoid(double[] fpr, double[] pro, double limit)
    {
        var first = Array.FindIndex(fpr, f => f < limit);
        if (first < 0 || fpr.Length - first < 2) return double.NaN;
        double lo = fpr[^1], hi = fpr[first];
        double area = 0;
        for (var i = first; i + 1 < fpr.Length; i++)
        {
            double x0 = (fpr[i] - lo) / (hi - lo), x1 = (fpr[i + 1] - lo) / (hi - lo);
            area += (x1 - x0) * (pro[i] + pro[i + 1]) / 2;
        }
        return -area;
    }

    /// <summary>The number of thresholds t_i &lt; score: guessed from the grid, then corrected against the
    /// stored thresholds so that the predicate is exactly the float64 comparison.</summary>
    internal static int Passed(double[] t, double min, double delta, float score)
    {
        var b = delta > 0 ? (int)Math.Clamp(Math.Ceiling((score - min) / delta), 0, t.Length) : 0;
        while (b > 0 && !(t[b - 1] < score)) b--;
        while (b < t.Length && t[b] < score) b++;
        return b;
    }
}
