namespace BayesPfl.Engine.Metrics;

/// <summary>Work limits of a <see cref="ThresholdSweep"/>.</summary>
/// <param name="Threads">Worker threads (default: all cores).</param>
/// <param name="BudgetElements">Most scores held in the scatter buffers at once (2 bytes each for normal pixels,
/// 6 for anomalous ones); more scores than this take more passes over the maps. A single 16-bit key bucket
/// larger than the budget is still processed in one piece.</param>
public sealed record SweepOptions(int Threads = 0, long BudgetElements = 128L << 20)
{
    public static readonly SweepOptions Default = new();
    internal int ThreadCount => Threads > 0 ? Threads : Environment.ProcessorCount;
}

/// <summary>
/// Something that folds the points of a threshold sweep. A sweep visits every distinct score once, from the
/// highest to the lowest, and reports the totals of the scores at or above it: fp (normal), tp (anomalous),
/// w (sum of the anomalous pixels' weights). Buckets of scores are visited in parallel, each by its own
/// accumulator that starts from the totals above it; <see cref="Then"/> joins them in descending order.
/// </summary>
internal interface ISweepAccumulator<TAcc> where TAcc : struct, ISweepAccumulator<TAcc>
{
    TAcc Start(long fp, long tp, double w);
    void Add(float threshold, long fp, long tp, double w);
    TAcc Then(in TAcc lower);
}

/// <summary>
/// Exact descending threshold sweep over many score maps without sorting them as a whole. Scores map to
/// order-preserving 32-bit keys; pass 1 counts keys per top-16-bit bucket (per thread, over a static split
/// of the images); buckets without anomalous pixels are then done (see <see cref="Walk"/>); each later pass
/// scatters the low 16 bits of the scores in a group of the other buckets (as many as fit the memory budget)
/// into per-bucket slices, normal and anomalous pixels apart so that the label costs no bits. Each bucket is then sorted on its own (counted per value when large) and walked from the top,
/// in parallel, starting from the prefix totals known from pass 1. Cost: (1 + groups) reads of the maps,
/// O(n) work, memory O(budget) besides the maps. -0 and +0 are one threshold; NaN is an error.
/// </summary>
internal static partial class ThresholdSweep
{
    private const int Buckets = 1 << 16;
    // Counting costs n + 2*65536 steps, sorting ~n log n: counting wins from ~16k values on.
    private const int CountingMin = 1 << 14;

    /// <param name="maps">score maps, any lengths</param>
    /// <param name="masks">per map, nonzero = anomalous pixel</param>
    /// <param name="positiveIds">optional, per map, one id per anomalous pixel in raster order (indexes
    /// <paramref name="weights"/>); null: every anomalous pixel has weight weights[0]</param>
    public static TAcc Run<TAcc>(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, int[]?[]? positiveIds,
        double[] weights, TAcc seed, SweepOptions options) where TAcc : struct, ISweepAccumulator<TAcc>
    {
        CheckPairs(maps, masks);
        var chunks = Split(maps.Count, options.ThreadCount);
        var hist = new Histogram[chunks.Length - 1];
        Parallelism.For(0, hist.Length, options.ThreadCount, c => hist[c] = Count(maps, masks, positiveIds, weights, chunks[c], chunks[c + 1]));

        var neg = new long[Buckets];
        var pos = new long[Buckets];
        var wsum = new double[Buckets];
        foreach (var h in hist)
            for (var b = 0; b < Buckets; b++) { neg[b] += h.Neg[b]; pos[b] += h.Pos[b]; wsum[b] += h.W[b]; }

        var results = new TAcc[Buckets];
        var done = new bool[Buckets];
        long fpAbove = 0, tpAbove = 0;
        double wAbove = 0;
        var startFp = new long[Buckets];
        var startTp = new long[Buckets];
        var startW = new double[Buckets];
        for (var b = Buckets - 1; b >= 0; b--)
        {
            startFp[b] = fpAbove; startTp[b] = tpAbove; startW[b] = wAbove;
            fpAbove += neg[b]; tpAbove += pos[b]; wAbove += wsum[b];
        }

        // Buckets without anomalous pixels hold only collinear ROC/PRO points: one step at the bucket's
        // lowest key stands for all of them, and no scatter pass needs to visit them.
        var group = new List<int>();
        long size = 0;
        for (var b = Buckets - 1; b >= 0; b--)
        {
            if (pos[b] == 0)
            {
                if (neg[b] == 0) continue;
                results[b] = seed.Start(startFp[b], startTp[b], startW[b]);
                results[b].Add(FromKey((uint)b << 16), startFp[b] + neg[b], startTp[b], startW[b]);
                done[b] = true;
                continue;
            }
            if (group.Count > 0 && size + neg[b] + pos[b] > options.BudgetElements)
            {
                SweepGroup(maps, masks, positiveIds, weights, seed, options, chunks, hist, group, neg, pos, startFp, startTp, startW, results, done);
                group.Clear();
                size = 0;
            }
            group.Add(b);
            size += neg[b] + pos[b];
        }
        if (group.Count > 0)
            SweepGroup(maps, masks, positiveIds, weights, seed, options, chunks, hist, group, neg, pos, startFp, startTp, startW, results, done);

        var total = seed.Start(0, 0, 0);
        for (var b = Buckets - 1; b >= 0; b--)
            if (done[b]) total = total.Then(results[b]);
        return total;
    }

    /// <summary>Maps and masks pair up one to one, with equal lengths.</summary>
    internal static void CheckPairs(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks)
    {
        if (maps.Count != masks.Count) throw new ArgumentException($"{maps.Count} maps but {masks.Count} masks", nameof(masks));
        for (var i = 0; i < maps.Count; i++)
            if (maps[i].Length != masks[i].Length)
                throw new ArgumentException($"map {i} has {maps[i].Length} scores but its mask {masks[i].Length} pixels", nameof(masks));
    }

    private sealed record Histogram(long[] Neg, long[] Pos, double[] W);

    private static ParallelOptions Par(SweepOptions o) => new() { MaxDegreeOfParallelism = o.ThreadCount };

    private static int[] Split(int count, int parts)
    {
        parts = Math.Max(1, Math.Min(parts, count));
        var bounds = new int[parts + 1];
        for (var p = 0; p <= parts; p++) bounds[p] = (int)((long)count * p / parts);
        return bounds;
    }

    /// <summary>Order-preserving key: larger float, larger key; -0 folds onto +0.</summary>
    internal static uint Key(float f)
    {
        var bits = BitConverter.SingleToUInt32Bits(f == 0f ? 0f : f);
        return (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
    }

    internal static float FromKey(uint key) =>
        BitConverter.UInt32BitsToSingle((key & 0x8000_0000u) != 0 ? key & 0x7FFF_FFFFu : ~key);

    private static Histogram Count(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, int[]?[]? ids, double[] weights, int first, int end)
    {
        var h = new Histogram(new long[Buckets], new long[Buckets], new double[Buckets]);
        for (var m = first; m < end; m++)
        {
            var s = maps[m];
            var y = masks[m];
            var id = ids?[m];
            var pc = 0;
            long[] negCount = h.Neg, posCount = h.Pos;
            var wsum = h.W;
            for (var i = 0; i < s.Length; i++)
            {
                var f = s[i];
                if (float.IsNaN(f)) throw new ArgumentException($"score map {m} has NaN at pixel {i}", "maps");
                var top = Key(f) >> 16;
                if (y[i] == 0) { negCount[top]++; continue; }
                posCount[top]++;
                wsum[top] += weights[id is null ? 0 : id[pc]];
                pc++;
            }
            if (id is not null && pc != id.Length)
                throw new ArgumentException($"map {m}: {id.Length} positive ids for {pc} anomalous pixels", "positiveIds");
        }
        return h;
    }

    private static void SweepGroup<TAcc>(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, int[]?[]? ids, double[] weights,
        TAcc seed, SweepOptions options, int[] chunks, Histogram[] hist, List<int> group, long[] neg, long[] pos,
        long[] startFp, long[] startTp, double[] startW, TAcc[] results, bool[] done) where TAcc : struct, ISweepAccumulator<TAcc>
    {
        // slot[bucket] = its index in the group or -1; slices per slot, then per chunk inside each slice so
        // that chunks write without locks.
        var slot = new int[Buckets];
        Array.Fill(slot, -1);
        var g = group.Count;
        var negBase = new int[g + 1];
        var posBase = new int[g + 1];
        for (var k = 0; k < g; k++)
        {
            slot[group[k]] = k;
            negBase[k + 1] = checked(negBase[k] + (int)neg[group[k]]);
            posBase[k + 1] = checked(posBase[k] + (int)pos[group[k]]);
        }
        var negLow = GC.AllocateUninitializedArray<ushort>(negBase[g]);
        var posLow = GC.AllocateUninitializedArray<ushort>(posBase[g]);
        var posId = GC.AllocateUninitializedArray<int>(posBase[g]);
        var negOff = new int[hist.Length][];
        var posOff = new int[hist.Length][];
        for (var c = 0; c < hist.Length; c++) { negOff[c] = new int[g]; posOff[c] = new int[g]; }
        for (var k = 0; k < g; k++)
        {
            int n = negBase[k], p = posBase[k];
            for (var c = 0; c < hist.Length; c++)
            {
                negOff[c][k] = n; n += (int)hist[c].Neg[group[k]];
                posOff[c][k] = p; p += (int)hist[c].Pos[group[k]];
            }
        }
        Parallel.For(0, hist.Length, Par(options), c => Scatter(maps, masks, ids, chunks[c], chunks[c + 1], slot,
            negOff[c], posOff[c], negLow, posLow, posId));

        Parallel.For(0, g, Par(options), () => new int[Buckets], (k, _, counts) =>
        {
            var b = group[k];
            var nSpan = negLow.AsSpan(negBase[k], (int)neg[b]);
            var pSpan = posLow.AsSpan(posBase[k], (int)pos[b]);
            var iSpan = posId.AsSpan(posBase[k], (int)pos[b]);
            pSpan.Sort(iSpan);
            var acc = seed.Start(startFp[b], startTp[b], startW[b]);
            if (nSpan.Length >= CountingMin)
            {
                Array.Clear(counts);
                foreach (var v in nSpan) counts[v]++;
                var negs = new CountedNegatives(counts);
                Walk(ref acc, ref negs, (uint)b << 16, pSpan, iSpan, weights, startFp[b], startTp[b], startW[b]);
            }
            else
            {
                nSpan.Sort();
                var negs = new SortedNegatives(negLow, negBase[k], nSpan.Length);
                Walk(ref acc, ref negs, (uint)b << 16, pSpan, iSpan, weights, startFp[b], startTp[b], startW[b]);
            }
            results[b] = acc;
            done[b] = true;
            return counts;
        }, _ => { });
    }

    private static void Scatter(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, int[]?[]? ids, int first, int end,
        int[] slot, int[] negOff, int[] posOff, ushort[] negLow, ushort[] posLow, int[] posId)
    {
        for (var m = first; m < end; m++)
        {
            var s = maps[m];
            var y = masks[m];
            var id = ids?[m];
            var pc = 0;
            for (var i = 0; i < s.Length; i++)
            {
                var key = Key(s[i]);
                var k = slot[key >> 16];
                var anomalous = y[i] != 0;
                if (k < 0) { if (anomalous) pc++; continue; }
                if (!anomalous) { negLow[negOff[k]++] = (ushort)key; continue; }
                var o = posOff[k]++;
                posLow[o] = (ushort)key;
                posId[o] = id is null ? 0 : id[pc];
                pc++;
            }
        }
    }
}
