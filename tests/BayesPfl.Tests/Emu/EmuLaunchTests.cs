using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Host;
using BayesPfl.KernelEmu;
using Xunit;

namespace BayesPfl.Tests.Emu;

/// <summary>Launch plumbing of the emulator: argument passing, grid indexing, validation and error messages.</summary>
public class EmuLaunchTests
{
    [Fact]
    public void RunsAKernelOverSeveralBlocks()
    {
        using var t = new EmuTestGpu();
        const int N = 1000;
        var buf = t.Alloc<float>(N);
        t.Launch("emutest_iota", 4, 256, a => a.Ptr(buf).Int(N));
        Assert.Equal(Enumerable.Range(0, N).Select(i => (float)i), t.Download<float>(buf, N));
    }

    [Fact]
    public void EveryThreadOfA3DGridOf3DBlocksSeesItsOwnIndices()
    {
        using var t = new EmuTestGpu();
        var grid = new Dim3(3, 2, 2);
        var block = new Dim3(5, 3, 2);
        var n = (int)(grid.Volume * block.Volume);
        var buf = t.Alloc<int>(n + 4);
        t.Launch("emutest_grid_index", grid, block, a => a.Ptr(buf).Int(7).Float(2f).Long(4));
        var got = t.Download<int>(buf, n + 4);
        Assert.Equal([-1, -1, -1, -1], got[..4]);  // untouched, still the 0xFF fill
        for (var id = 0; id < n; id++)
        {
            int b = id / 30, th = id % 30;  // x fastest, as CUDA linearises blocks and threads
            int bx = b % 3, by = b / 3 % 2, bz = b / 6, tx = th % 5, ty = th / 5 % 3, tz = th / 15;
            Assert.Equal(7 + 2 * (((((bz * 8 + by) * 8 + bx) * 8 + tz) * 8 + ty) * 8 + tx), got[4 + id]);
        }
    }

    [Fact]
    public void TheFiberStackSizeIsConfigurable()
    {
        using var t = new EmuTestGpu();
        var buf = t.Alloc<float>(32);
        var before = EmuGpu.StackBytes;
        EmuGpu.StackBytes = 256 * 1024;  // process-wide; launches pick it up when they start
        try
        {
            t.Launch("emutest_big_local", 2, 32, a => a.Ptr(buf).Int(1000));
        }
        finally
        {
            EmuGpu.StackBytes = before;
        }
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (float)((16383 - i) % 1000)), t.Download<float>(buf, 32));
    }

    [Fact]
    public void EveryEngineKernelIsRegistered()
    {
        var registered = EmuGpu.Kernels().ToHashSet();
        Assert.Contains("emutest_iota", registered);
        var missing = EngineKernels.Sources.Kernels.Where(k => !registered.Contains(k)).Order().ToList();
        Assert.True(missing.Count == 0, $"kernels not compiled into the emulator: {string.Join(", ", missing)}");
    }

    [Fact]
    public void UnknownKernelNamesItAndSuggestsSimilarOnes()
    {
        using var t = new EmuTestGpu();
        var e = Assert.Throws<ArgumentException>(() => t.Launch("emutest_iotta", 1, 1, a => a.Int(1)));
        Assert.Contains("no kernel named 'emutest_iotta'", e.Message);
        Assert.Contains("emutest_iota", e.Message);
    }

    [Fact]
    public void AKernelCompiledOutUnderKernelEmuSaysSo()
    {
        using var t = new EmuTestGpu();
        var e = Assert.Throws<ArgumentException>(() => t.Launch("emutest_gpu_only", 1, 1, a => a.Ptr(t.Alloc<float>(1))));
        Assert.Contains("emutest_gpu_only' (smoke.cu) is compiled out under KERNEL_EMU", e.Message);
    }

    [Fact]
    public void ArgumentsAreCheckedAgainstTheKernelSignature()
    {
        using var t = new EmuTestGpu();
        var buf = t.Alloc<float>(4);
        var count = Assert.Throws<ArgumentException>(() => t.Launch("emutest_iota", 1, 4, a => a.Ptr(buf)));
        Assert.Contains("takes 2 parameters (pi), the launch passed 1", count.Message);
        var pointer = Assert.Throws<ArgumentException>(() => t.Launch("emutest_iota", 1, 4, a => a.Int(4).Int(4)));
        Assert.Contains("argument 0 is a pointer", pointer.Message);
        var wide = Assert.Throws<ArgumentException>(() => t.Launch("emutest_iota", 1, 4, a => a.Ptr(buf).Ptr(buf)));
        Assert.Contains("argument 1 is a 4-byte int, but the launch passed an 8-byte value", wide.Message);
    }

    [Theory]
    [InlineData(1025, 1, 0, "at most 1024 threads")]
    [InlineData(32, 33, 0, "at most 1024 threads")]
    [InlineData(32, 1, 227 * 1024 + 1, "dynamic shared memory")]
    public void InvalidLaunchConfigurationsAreRejected(int bx, int by, int smem, string why)
    {
        using var t = new EmuTestGpu();
        var buf = t.Alloc<float>(4);
        var e = Assert.Throws<ArgumentException>(() => t.Launch("emutest_iota", 1, new Dim3((uint)bx, (uint)by), a => a.Ptr(buf).Int(4), smem));
        Assert.Contains(why, e.Message);
        Assert.Contains("emutest_iota", e.Message);
    }

    [Fact]
    public void LocalArraysOf256FloatsLiveOnTheFiberStacks()
    {
        using var t = new EmuTestGpu();
        const int N = 512;
        var buf = t.Alloc<float>(N);
        t.Launch("emutest_local_array", 2, 256, a => a.Ptr(buf).Int(N));
        // sum_j (j' + t) over a permutation j' of 0..255 (7 is coprime with 256): 255*256/2 + 256 t, exact in float.
        Assert.Equal(Enumerable.Range(0, N).Select(i => 32640f + 256f * i), t.Download<float>(buf, N));
    }
}
