namespace BayesPfl.Engine.Metrics;

/// <summary>The per-bucket walk of <see cref="ThresholdSweep"/> and its two views of the normal pixels.</summary>
internal static partial class ThresholdSweep
{
    /// <summary>
    /// Walks the anomalous values of a bucket from the top. A step for every distinct value holding an
    /// anomalous pixel; a run of values holding only normal pixels is one step at the run's lowest value,
    /// because its points lie on one segment of the ROC and PRO curves (sklearn's drop_intermediate drops them
    /// too), add nothing to AP, and cannot hold the F1 maximum (same recall, lower precision than the point
    /// above).
    /// </summary>
    private static void Walk<TAcc, TNeg>(ref TAcc acc, ref TNeg negs, uint keyBase, ReadOnlySpan<ushort> poss,
        ReadOnlySpan<int> ids, double[] weights, long fp, long tp, double w)
        where TAcc : struct, ISweepAccumulator<TAcc> where TNeg : struct, INegatives
    {
        var p = poss.Length - 1;
        while (p >= 0)
        {
            int v = poss[p];
            var run = negs.TakeAbove(v, out var lowest);
            if (run > 0)
            {
                fp += run;
                acc.Add(FromKey(keyBase | (uint)lowest), fp, tp, w);
            }
            fp += negs.TakeEqual(v);
            while (p >= 0 && poss[p] == v) { tp++; w += weights[ids[p]]; p--; }
            acc.Add(FromKey(keyBase | (uint)v), fp, tp, w);
        }
        var rest = negs.TakeAbove(-1, out var low);
        if (rest > 0) acc.Add(FromKey(keyBase | (uint)low), fp + rest, tp, w);
    }

    /// <summary>The normal pixels' low key bits of one bucket, consumed from the top.</summary>
    private interface INegatives
    {
        /// <summary>Takes all values above v; lowest = the smallest taken (when any).</summary>
        long TakeAbove(int v, out int lowest);
        /// <summary>Takes the values equal to v (call right after TakeAbove(v)).</summary>
        long TakeEqual(int v);
    }

    /// <summary>A small bucket: its slice sorted ascending.</summary>
    private struct SortedNegatives(ushort[] values, int start, int count) : INegatives
    {
        private int n = start + count - 1;

        public long TakeAbove(int v, out int lowest)
        {
            var n0 = n;
            while (n >= start && values[n] > v) n--;
            lowest = n0 != n ? values[n + 1] : -1;
            return n0 - n;
        }

        public long TakeEqual(int v)
        {
            var n0 = n;
            while (n >= start && values[n] == v) n--;
            return n0 - n;
        }
    }

    /// <summary>A large bucket: a count per low 16-bit value (no sort; O(n + 65536)).</summary>
    private struct CountedNegatives(int[] counts) : INegatives
    {
        private int c = Buckets - 1;

        public long TakeAbove(int v, out int lowest)
        {
            long run = 0;
            lowest = -1;
            for (; c > v; c--)
                if (counts[c] != 0) { run += counts[c]; lowest = c; }
            return run;
        }

        public long TakeEqual(int v)
        {
            c = v - 1;
            return counts[v];
        }
    }
}
