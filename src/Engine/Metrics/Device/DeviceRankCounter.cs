using BayesPfl.Host;

namespace BayesPfl.Engine.Metrics.Device;

/// <summary>
/// Launches rank_count_forward (src/Kernels/metrics.cu) over score maps that stay on the host: the splits and the
/// counters live on the device for the whole call, the maps stream through one chunk buffer (a map may straddle
/// two chunks). Same result as <see cref="RankCountReference.Count"/> over all maps concatenated.
/// </summary>
public sealed class DeviceRankCounter(IGpu gpu, long chunkScores = DeviceRankCounter.DefaultChunkScores)
{
    /// <summary>32 Mi scores (128 MiB) per chunk: bounds the device memory whatever the category's size, and is
    /// large enough that a copy and a launch per chunk cost nothing next to the chunk's transfer.</summary>
    public const long DefaultChunkScores = 32L << 20;

    /// <summary>Bins counted in shared memory per block (16 KiB): the lowest ones, where the scores below the
    /// lowest split all land.</summary>
    public const int LowBins = 4096;

    private const int Threads = 256;

    /// <summary>Blocks per launch at most: each then counts thousands of scores per flush of its LowBins.</summary>
    private const int MaxBlocks = 1024;

    private readonly long chunk = chunkScores is > 0 and <= uint.MaxValue
        ? chunkScores
        : throw new ArgumentOutOfRangeException(nameof(chunkScores), chunkScores, "must be in [1, 2^32) (the per-block shared counters are 32-bit)");

    /// <summary>counts [2U+1] of all scores of all maps against the strictly descending splits [U] (metrics.cu).</summary>
    public ulong[] Count(IReadOnlyList<float[]> maps, uint[] splits)
    {
        ArgumentNullException.ThrowIfNull(maps);
        for (var i = 1; i < splits.Length; i++)
            if (splits[i] >= splits[i - 1]) throw new ArgumentException($"splits must be strictly descending (index {i})", nameof(splits));
        var u = splits.Length;
        var counts = new ulong[2 * u + 1];
        long total = 0;
        foreach (var m in maps) total += m.Length;
        var buffer = Math.Max(1, Math.Min(chunk, total));
        var dCounts = gpu.Allocate(counts.Length * sizeof(ulong));
        var dSplits = gpu.Allocate(Math.Max(1, u) * sizeof(uint));
        var dScores = gpu.Allocate(buffer * sizeof(float));
        using var args = new KernelArgs();
        try
        {
            gpu.Memset(dCounts, 0, counts.Length * sizeof(ulong));
            if (u > 0) gpu.CopyToDevice<uint>(dSplits, splits);
            long filled = 0;
            foreach (var map in maps)
            {
                for (long o = 0; o < map.Length;)
                {
                    var n = (int)Math.Min(map.Length - o, buffer - filled);
                    gpu.CopyToDevice<float>(dScores + filled * sizeof(float), map.AsSpan((int)o, n));
                    (o, filled) = (o + n, filled + n);
                    if (filled == buffer) filled = Launch(args, dCounts, dSplits, dScores, filled, u);
                }
            }
            if (filled > 0) Launch(args, dCounts, dSplits, dScores, filled, u);
            gpu.CopyToHost<ulong>(counts, dCounts);
        }
        finally
        {
            gpu.Free(dScores);
            gpu.Free(dSplits);
            gpu.Free(dCounts);
        }
        return counts;
    }

    /// <returns>0, the new fill of the chunk buffer</returns>
    private long Launch(KernelArgs args, DevicePtr counts, DevicePtr splits, DevicePtr scores, long n, int u)
    {
        var lowBins = Math.Min(2 * u + 1, LowBins);
        var blocks = (int)Math.Min((n + Threads - 1) / Threads, MaxBlocks);
        args.Clear();
        gpu.Launch("rank_count_forward", blocks, Threads, lowBins * sizeof(uint),
            args.Ptr(counts).Ptr(splits).Ptr(scores).Long(n).Int(u).Int(lowBins));
        return 0;
    }
}
