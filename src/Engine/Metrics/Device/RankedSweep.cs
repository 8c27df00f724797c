namespace BayesPfl.Engine.Metrics.Device;

/// <summary>
/// The GPU path of <see cref="PixelMetrics"/>: "rank the normal pixels against the distinct anomalous scores".
/// The ROC, PR and PRO curves only bend at thresholds equal to an anomalous score: between two consecutive
/// distinct anomalous scores only fp grows, so the normal pixels there are one collapsed negative-only step,
/// exactly the step the CPU sweep takes for a run of normal-only values (ThresholdSweep.Walk). The folds then
/// agree: CurveAccumulator adds Δfp·(tp + tp_prev) (an integer; tp is constant along a run, so one step or
/// many give the same sum) and nothing to AP (Δtp = 0); a negative-only step never holds the F1 maximum (same
/// recall, strictly lower precision than the point above, or F1 = 0 before the first anomalous pixel, which
/// the first anomalous point then beats), so F1, its threshold and IoU are the same integers' functions, and
/// the threshold handed to a collapsed step (a bound of its run) is never read. ProAccumulator adds
/// pro·Δfpr with pro constant along the run, and at the FPR limit interpolates pro + 0·(...) = pro: one
/// step or many differ only by float64 reassociation.
/// Steps: (1) host: gather and sort the anomalous pixels (<see cref="AnomalousScores"/>), distinct keys with
/// their tp count and PRO weight sum; (2) device: count every pixel per bin (<see cref="DeviceRankCounter"/>),
/// with the spec AUPRO thresholds as extra splits; (3) host: one walk feeds both folds and the spec histogram.
/// </summary>
internal static class RankedSweep
{
    public static PixelMetrics Compute(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, int height, int width,
        DeviceRankCounter counter, bool specAupro, SweepOptions options)
    {
        ThresholdSweep.CheckPairs(maps, masks);
        var regions = Regions.Find(masks, height, width, options);
        var anomalous = AnomalousScores.Gather(maps, masks, regions.PositiveIds, options);
        var (keys, tps, weights) = Distinct(anomalous.Packed, regions.InverseSizes);

        var withPro = regions.Count > 0 && regions.NormalPixels > 0;
        var grid = specAupro && withPro ? Aupro.SpecGrid(anomalous.Min, anomalous.Max, Aupro.SpecThresholds) : (T: [], Delta: 0.0);
        var (splits, anomalousAt, thresholdAt) = Splits(keys, grid.T);
        var counts = counter.Count(maps, splits);

        long positives = anomalous.Packed.Length, negatives = regions.NormalPixels;
        var curve = new CurveAccumulator(positives, negatives, BinaryMetrics.PixelEps);
        var pro = new ProAccumulator(negatives, regions.Count, Aupro.DefaultFprLimit);
        var passed = Walk(counts, splits, anomalousAt, tps, weights, ref curve, ref pro);
        if (passed[^1] != negatives) throw new InvalidOperationException($"the device counted {passed[^1]} normal pixels, the masks hold {negatives}");

        var spec = double.NaN;
        if (grid.T.Length > 0)
        {
            var normalHist = NormalHistogram(passed, thresholdAt, negatives);
            var regionHist = new long[regions.Count, grid.T.Length + 1];
            foreach (var p in anomalous.Packed)
                regionHist[(int)(uint)p, Aupro.Passed(grid.T, anomalous.Min, grid.Delta, ThresholdSweep.FromKey((uint)(p >> 32)))]++;
            spec = Aupro.SpecArea(regionHist, normalHist, regions, Aupro.DefaultFprLimit);
        }
        return new PixelMetrics(curve.Result(), withPro ? pro.Area / Aupro.DefaultFprLimit : double.NaN, spec, "cuda");
    }

    /// <summary>The distinct keys of the packed pixels, descending, with their pixel counts and weight sums.</summary>
    private static (uint[] Keys, long[] Tps, double[] Weights) Distinct(ulong[] packed, double[] inverseSizes)
    {
        var keys = new List<uint>();
        var tps = new List<long>();
        var weights = new List<double>();
        for (var i = packed.Length - 1; i >= 0;)
        {
            var key = (uint)(packed[i] >> 32);
            long n = 0;
            double w = 0;
            for (; i >= 0 && (uint)(packed[i] >> 32) == key; i--) { n++; w += inverseSizes[(int)(uint)packed[i]]; }
            keys.Add(key); tps.Add(n); weights.Add(w);
        }
        return ([.. keys], [.. tps], [.. weights]);
    }

    /// <summary>
    /// The descending union of the anomalous keys and the spec thresholds' boundary keys. A pixel passes t_i
    /// (score &gt; t_i in float64) iff its key is at least the key of the smallest float above t_i; a NaN or
    /// infinite t_i (an infinite score range) is passed by nothing (thresholdAt -1).
    /// </summary>
    private static (uint[] Splits, int[] AnomalousAt, int[] ThresholdAt) Splits(uint[] keys, double[] t)
    {
        var boundary = new uint[t.Length];
        var thresholdAt = new int[t.Length];
        var order = new List<int>();
        for (var i = 0; i < t.Length; i++)
        {
            thresholdAt[i] = -1;
            if (!(t[i] < double.PositiveInfinity)) continue;
            var f = (float)t[i];
            if (!(f > t[i])) f = MathF.BitIncrement(f);
            boundary[i] = ThresholdSweep.Key(f);
            order.Add(i);
        }
        order.Sort((a, b) => boundary[b].CompareTo(boundary[a]));
        var splits = new List<uint>(keys.Length + order.Count);
        var anomalousAt = new List<int>(keys.Length + order.Count);
        for (int u = 0, q = 0; u < keys.Length || q < order.Count;)
        {
            var key = u < keys.Length && (q == order.Count || keys[u] >= boundary[order[q]]) ? keys[u] : boundary[order[q]];
            var at = u < keys.Length && keys[u] == key ? u++ : -1;
            for (; q < order.Count && boundary[order[q]] == key; q++) thresholdAt[order[q]] = splits.Count;
            splits.Add(key);
            anomalousAt.Add(at);
        }
        return ([.. splits], [.. anomalousAt], thresholdAt);
    }

    /// <summary>Feeds both folds from the top; returns passed[j] = normal pixels at or above split j, and the
    /// total normal count last.</summary>
    private static long[] Walk(ulong[] counts, uint[] splits, int[] anomalousAt, long[] tps, double[] weights,
        ref CurveAccumulator curve, ref ProAccumulator pro)
    {
        var passed = new long[splits.Length + 1];
        long fp = 0, tp = 0, stepped = 0;
        double w = 0;
        void Step(float threshold, ref CurveAccumulator c, ref ProAccumulator p)
        {
            c.Add(threshold, fp, tp, w);
            p.Add(threshold, fp, tp, w);
            stepped = fp;
        }
        for (var j = 0; j < splits.Length; j++)
        {
            fp += (long)counts[2 * j];
            var equal = (long)counts[2 * j + 1];
            var a = anomalousAt[j];
            if (a >= 0)
            {
                if (equal < tps[a]) throw new InvalidOperationException($"the device counted {equal} pixels at split {j}, the masks hold {tps[a]} anomalous ones there");
                // The normal run above this score, collapsed; its threshold is a lower bound of the run.
                if (fp > stepped) Step(ThresholdSweep.FromKey(splits[j] + 1), ref curve, ref pro);
                fp += equal - tps[a];
                tp += tps[a];
                w += weights[a];
                Step(ThresholdSweep.FromKey(splits[j]), ref curve, ref pro);
            }
            else fp += equal;
            passed[j] = fp;
        }
        fp += (long)counts[2 * splits.Length];
        if (fp > stepped) Step(float.NegativeInfinity, ref curve, ref pro);
        passed[^1] = fp;
        return passed;
    }

    /// <summary>hist[b] = normal pixels passing exactly the thresholds 0..b-1 (Aupro.SpecArea's input).</summary>
    private static long[] NormalHistogram(long[] passed, int[] thresholdAt, long negatives)
    {
        var count = thresholdAt.Length;
        long Pass(int i) => i < 0 ? negatives : i >= count || thresholdAt[i] < 0 ? 0 : passed[thresholdAt[i]];
        var hist = new long[count + 1];
        for (var b = 0; b <= count; b++) hist[b] = Pass(b - 1) - Pass(b);
        return hist;
    }
}
