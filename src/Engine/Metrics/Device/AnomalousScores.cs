using System.Numerics.Tensors;

namespace BayesPfl.Engine.Metrics.Device;

/// <summary>
/// The host half of the device metrics' input: every anomalous pixel as (score key &lt;&lt; 32 | region id),
/// sorted ascending, and the range of all scores. Anomalous pixels are few (typically 0.5-5 %), so sorting them
/// costs little next to the device pass over all pixels.
/// </summary>
/// <param name="Packed">ascending; the high half orders by score (ThresholdSweep.Key), the low half by region id,
/// so the order and every per-key sum are the same for any thread count</param>
/// <param name="Min">smallest score of all maps (+inf when there are none)</param>
/// <param name="Max">largest score of all maps (-inf when there are none)</param>
internal sealed record AnomalousScores(ulong[] Packed, float Min, float Max)
{
    /// <param name="positiveIds">per map, the region id of each anomalous pixel in raster order (<see cref="Regions"/>)</param>
    public static AnomalousScores Gather(IReadOnlyList<float[]> maps, IReadOnlyList<byte[]> masks, int[]?[] positiveIds, SweepOptions options)
    {
        var offsets = new long[maps.Count + 1];
        for (var m = 0; m < maps.Count; m++) offsets[m + 1] = offsets[m] + (positiveIds[m]?.Length ?? 0);
        var packed = GC.AllocateUninitializedArray<ulong>(checked((int)offsets[^1]));
        var mins = new float[maps.Count];
        var maxs = new float[maps.Count];
        Parallelism.For(0, maps.Count, options.ThreadCount, m =>
        {
            var s = maps[m];
            // One SIMD read of the whole map: the range for the spec AUPRO grid and the NaN check of the CPU sweep
            // (Min is NaN when any score is).
            (mins[m], maxs[m]) = s.Length == 0 ? (float.PositiveInfinity, float.NegativeInfinity) : (TensorPrimitives.Min(s), TensorPrimitives.Max(s));
            if (float.IsNaN(mins[m])) throw new ArgumentException($"score map {m} has NaN at pixel {Array.FindIndex(s, float.IsNaN)}", nameof(maps));
            var ids = positiveIds[m] ?? [];
            var y = masks[m];
            var o = offsets[m];
            for (int i = y.AsSpan().IndexOfAnyExcept((byte)0), pc = 0; i >= 0 && i < y.Length; i++)
                if (y[i] != 0) packed[o + pc] = (ulong)ThresholdSweep.Key(s[i]) << 32 | (uint)ids[pc++];
        });
        ParallelSort(packed, options.ThreadCount);
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (var m = 0; m < maps.Count; m++) { min = Math.Min(min, mins[m]); max = Math.Max(max, maxs[m]); }
        return new AnomalousScores(packed, min, max);
    }

    /// <summary>Sorts runs in parallel, then merges pairs of runs in parallel rounds.</summary>
    internal static void ParallelSort(ulong[] a, int threads)
    {
        var parts = Math.Max(1, Math.Min(threads, a.Length / 4096));
        var bounds = Enumerable.Range(0, parts + 1).Select(p => (int)((long)a.Length * p / parts)).ToArray();
        Parallelism.For(0, parts, threads, p => a.AsSpan(bounds[p], bounds[p + 1] - bounds[p]).Sort());
        if (parts == 1) return;
        var (src, dst) = (a, GC.AllocateUninitializedArray<ulong>(a.Length));
        while (bounds.Length > 2)
        {
            var runs = bounds.Length - 1;
            Parallelism.For(0, (runs + 1) / 2, threads, q =>
            {
                int lo = bounds[2 * q], mid = bounds[Math.Min(2 * q + 1, runs)], hi = bounds[Math.Min(2 * q + 2, runs)];
                Merge(src.AsSpan(lo, mid - lo), src.AsSpan(mid, hi - mid), dst.AsSpan(lo, hi - lo));
            });
            bounds = [.. bounds.Where((_, i) => i % 2 == 0 || i == runs)];
            (src, dst) = (dst, src);
        }
        if (!ReferenceEquals(src, a)) src.CopyTo(a, 0);
    }

    private static void Merge(ReadOnlySpan<ulong> x, ReadOnlySpan<ulong> y, Span<ulong> into)
    {
        int i = 0, j = 0, o = 0;
        while (i < x.Length && j < y.Length) into[o++] = x[i] <= y[j] ? x[i++] : y[j++];
        x[i..].CopyTo(into[o..]);
        y[j..].CopyTo(into[(o + x.Length - i)..]);
    }
}
