using Xunit;

namespace BayesPfl.Tests.Emu;

/// <summary>Warp intrinsics of the emulator against CUDA's documented lane arithmetic (kernels in selftest/warp.cu).</summary>
public class EmuWarpTests
{
    private const int Threads = 64;  // two warps, so lane and thread index differ in the second

    [Theory]
    [InlineData(0, 5, 32)]
    [InlineData(0, 3, 8)]
    [InlineData(0, 13, 4)]
    [InlineData(1, 3, 32)]
    [InlineData(1, 2, 8)]
    [InlineData(2, 1, 32)]
    [InlineData(2, 3, 16)]
    [InlineData(3, 16, 32)]
    [InlineData(3, 2, 4)]
    [InlineData(3, 8, 4)]
    public void ShufflesFollowCudaLaneRules(int mode, int arg, int width)
    {
        using var t = new EmuTestGpu();
        var f = t.Alloc<float>(Threads);
        var i = t.Alloc<int>(Threads);
        var d = t.Alloc<double>(Threads);
        t.Launch("emutest_shfl", 1, Threads, a => a.Ptr(f).Ptr(i).Ptr(d).Int(mode).Int(arg).Int(width));
        var expected = Enumerable.Range(0, Threads).Select(th => th / 32 * 32 + SourceLane(mode, th % 32, arg, width)).ToArray();
        Assert.Equal(expected.Select(s => 100f * s + 0.5f), t.Download<float>(f, Threads));
        Assert.Equal(expected.Select(s => 100 * s + 1), t.Download<int>(i, Threads));
        Assert.Equal(expected.Select(s => 100.0 * s + 0.25), t.Download<double>(d, Threads));
    }

    [Fact]
    public void ReadingAMissingLaneOfAPartialWarpGivesNaN()
    {
        using var t = new EmuTestGpu();
        var f = t.Alloc<float>(48);
        var i = t.Alloc<int>(48);
        // 48 threads: the second warp has lanes 0..15 only; lane ^ 16 does not exist there (undefined on the GPU).
        t.Launch("emutest_shfl", 1, 48, a => a.Ptr(f).Ptr(i).Ptr(t.Alloc<double>(48)).Int(3).Int(16).Int(32));
        var got = t.Download<float>(f, 48);
        Assert.Equal(Enumerable.Range(0, 32).Select(th => 100f * (th ^ 16) + 0.5f), got[..32]);
        Assert.All(got[32..], v => Assert.True(float.IsNaN(v)));
        Assert.All(t.Download<int>(i, 48)[32..], v => Assert.Equal(-1, v));
    }

    /// <summary>CUDA Programming Guide, warp shuffle functions: the lane a lane reads, or its own.</summary>
    private static int SourceLane(int mode, int lane, int arg, int width)
    {
        var segment = lane / width * width;
        return mode switch
        {
            0 => segment + arg % width,
            1 => lane - arg >= segment ? lane - arg : lane,
            2 => lane + arg < segment + width ? lane + arg : lane,
            _ => (lane ^ arg) < segment + width ? lane ^ arg : lane,
        };
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(64)]
    public void BallotAnyAllAndHalfWarpMasks(int k)
    {
        using var t = new EmuTestGpu();
        var ballot = t.Alloc<uint>(Threads);
        var any = t.Alloc<int>(Threads);
        var all = t.Alloc<int>(Threads);
        var halves = t.Alloc<float>(Threads);
        t.Launch("emutest_vote", 1, Threads, a => a.Ptr(ballot).Ptr(any).Ptr(all).Ptr(halves).Int(k));
        var gotBallot = t.Download<uint>(ballot, Threads);
        var gotAny = t.Download<int>(any, Threads);
        var gotAll = t.Download<int>(all, Threads);
        var gotHalves = t.Download<float>(halves, Threads);
        for (var th = 0; th < Threads; th++)
        {
            var warp = th / 32 * 32;
            var bits = 0u;
            for (var l = 0; l < 32; l++) if ((warp + l) % k == 0) bits |= 1u << l;
            Assert.Equal(bits, gotBallot[th]);
            Assert.Equal(bits != 0 ? 1 : 0, gotAny[th]);
            Assert.Equal(bits == uint.MaxValue ? 1 : 0, gotAll[th]);
            var group = th / 16 * 16;
            Assert.Equal(Enumerable.Range(group, 16).Sum(), gotHalves[th]);
        }
    }

    [Fact]
    public void WarpSumAndWarpMaxOfCommonCuh()
    {
        using var t = new EmuTestGpu();
        const int Rows = 3, Cols = 45;
        var x = Enumerable.Range(0, Rows * Cols).Select(v => (float)(v % 17 - 8)).ToArray();
        var sums = t.Alloc<float>(Rows);
        var maxes = t.Alloc<float>(Rows);
        t.Launch("emutest_warp_reduce", Rows, 32, a => a.Ptr(sums).Ptr(maxes).Ptr(t.Upload(x)).Int(Cols));
        var rows = Enumerable.Range(0, Rows).Select(r => x.AsSpan(r * Cols, Cols).ToArray()).ToArray();
        Assert.Equal(rows.Select(r => r.Sum()), t.Download<float>(sums, Rows));  // small integers: exact
        Assert.Equal(rows.Select(r => r.Max()), t.Download<float>(maxes, Rows));
    }
}
