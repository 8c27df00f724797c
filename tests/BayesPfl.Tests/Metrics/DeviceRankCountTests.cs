using BayesPfl.Engine.Metrics.Device;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Metrics;

/// <summary>rank_count_forward on the kernel emulator against RankCountReference: integer counters, so bitwise.</summary>
public class DeviceRankCountTests
{
    public static TheoryData<string, int, int> Cases => new()
    {
        { "random", 1000, 37 },
        { "random", 1, 1 },
        { "random", 7, 0 },          // no split: everything in the one bin
        { "random", 257, 3 },
        { "ties", 1370, 4 },         // 5 levels, 4 of them splits
        { "equal", 577, 1 },
        { "equal", 33, 0 },
        { "zeros", 197, 3 },         // -0, +0, denormals and ±1; -0 must land on +0's split
        { "extremes", 300, 6 },      // splits at ±inf, ±max, the scores' own min and max
        { "wide", 3000, 2500 },      // 2K+1 > LowBins: bins above the shared window take the global atomics
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesReference(string kind, int n, int k)
    {
        var rng = new Random(n * 31 + k);
        var scores = Scores(kind, n, rng);
        var splits = Splits(kind, scores, k, rng);
        var expected = new ulong[2 * splits.Length + 1];
        RankCountReference.Count(expected, splits, scores);
        Assert.Equal((ulong)n, expected.Aggregate(0UL, (a, b) => a + b));

        using var backend = TestBackends.Emulated();
        // Uneven maps and a chunk of 100 scores: maps straddle chunks, the last chunk is partial.
        var maps = OracleData.Pieces(scores, 7, 1, 300, 64);
        Assert.Equal(expected, new DeviceRankCounter(backend.Gpu, chunkScores: 100).Count(maps, splits));
        // One chunk for everything, and a rerun: the same counters bit for bit.
        var single = new DeviceRankCounter(backend.Gpu);
        Assert.Equal(expected, single.Count(maps, splits));
        Assert.Equal(expected, single.Count(maps, splits));
    }

    [Fact]
    public void RejectsUnsortedSplitsAndBadChunks()
    {
        using var backend = TestBackends.Emulated();
        var e = Assert.Throws<ArgumentException>(() => new DeviceRankCounter(backend.Gpu).Count([new float[3]], [5u, 5u]));
        Assert.Contains("strictly descending", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DeviceRankCounter(backend.Gpu, 0));
    }

    [Fact]
    public void ReferenceFoldsNegativeZeroAndOrdersLikeFloats()
    {
        Assert.Equal(RankCountReference.ScoreKey(0f), RankCountReference.ScoreKey(-0f));
        float[] ordered = [float.NegativeInfinity, -float.MaxValue, -1f, -float.Epsilon, 0f, float.Epsilon, 1f, float.MaxValue, float.PositiveInfinity];
        for (var i = 1; i < ordered.Length; i++) Assert.True(RankCountReference.ScoreKey(ordered[i]) > RankCountReference.ScoreKey(ordered[i - 1]));
        // counts: gap above 1, eq 1, gap (0,1), eq 0 (both zeros), below 0.
        var counts = new ulong[5];
        RankCountReference.Count(counts, [RankCountReference.ScoreKey(1f), RankCountReference.ScoreKey(0f)], [2f, 1f, 0.5f, 0f, -0f, -3f]);
        Assert.Equal([1UL, 1, 1, 2, 1], counts);
    }

    internal static float[] Scores(string kind, int n, Random rng)
    {
        float[] zeros = [-0f, 0f, float.Epsilon, -float.Epsilon, 1f, -1f];
        return [.. Enumerable.Range(0, n).Select(_ => kind switch
        {
            "ties" => rng.Next(5) * 0.25f,
            "equal" => 0.5f,
            "zeros" => zeros[rng.Next(zeros.Length)],
            _ => (float)(rng.NextDouble() * 2 - 1),
        })];
    }

    /// <summary>k strictly descending split keys: about half of them keys of scores (eq bins get hits), the rest random.</summary>
    private static uint[] Splits(string kind, float[] scores, int k, Random rng)
    {
        var keys = new HashSet<uint>();
        if (kind == "extremes")
            foreach (var f in new[] { float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -float.MaxValue, scores.Min(), scores.Max() })
                keys.Add(RankCountReference.ScoreKey(f));
        if (k > 0 && kind is "zeros" or "equal") keys.Add(RankCountReference.ScoreKey(kind == "zeros" ? 0f : 0.5f));
        var distinct = scores.Select(RankCountReference.ScoreKey).Distinct().ToArray();
        for (var guard = 0; keys.Count < k && guard < 100 * k; guard++)
            keys.Add(rng.Next(2) == 0 ? distinct[rng.Next(distinct.Length)] : RankCountReference.ScoreKey((float)(rng.NextDouble() * 2.2 - 1.1)));
        return [.. keys.OrderDescending()];
    }
}
