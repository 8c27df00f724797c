using BayesPfl.Host;
using BayesPfl.KernelEmu;
using Xunit;

namespace BayesPfl.Tests.Emu;

/// <summary>What the emulator catches: out-of-bounds writes, reads of unwritten memory, bad copies, divergent barriers.</summary>
public class EmuGuardTests
{
    [Fact]
    public void AWritePastTheEndIsCaughtAfterTheKernelAndAtFree()
    {
        using var gpu = new EmuGpu();
        var buf = gpu.Allocate(40);
        using var args = new KernelArgs().Ptr(buf).Int(10);
        var e = Assert.Throws<InvalidOperationException>(() => gpu.Launch("emutest_write_past_end", 1, 32, 0, args));
        Assert.Contains("after kernel emutest_write_past_end", e.Message);
        Assert.Contains("past the end of allocation", e.Message);
        Assert.Contains("(40 bytes at " + buf, e.Message);
        Assert.Contains("end + 0", e.Message);
        Assert.Throws<InvalidOperationException>(gpu.CheckGuards);
        var free = Assert.Throws<InvalidOperationException>(() => gpu.Free(buf));
        Assert.Contains("Free(" + buf + ")", free.Message);
    }

    [Fact]
    public unsafe void AWriteBeforeTheStartIsCaughtByCheckGuards()
    {
        using var gpu = new EmuGpu();
        var buf = gpu.Allocate(16);
        gpu.CheckGuards();
        *((byte*)buf.Address - 3) = 0;  // what a kernel indexing with -1 would do
        var e = Assert.Throws<InvalidOperationException>(gpu.CheckGuards);
        Assert.Contains("before the start of allocation", e.Message);
        Assert.Contains("offset -3 ", e.Message);
    }

    [Fact]
    public void AWritePastTheDynamicSharedMemoryIsReported()
    {
        using var t = new EmuTestGpu();
        var e = Assert.Throws<InvalidOperationException>(() => t.Launch("emutest_smem_overflow", 1, 32, a => a.Int(10), smem: 40));
        Assert.Contains("kernel emutest_smem_overflow", e.Message);
        Assert.Contains("past the end of its 40 bytes of dynamic shared memory", e.Message);
    }

    [Fact]
    public void AReadPastTheEndGivesNaN()
    {
        using var t = new EmuTestGpu();
        var output = t.Upload(0f);
        t.Launch("emutest_read_past_end", 1, 1, a => a.Ptr(output).Ptr(t.Upload(1f, 2f, 3f)).Int(3));
        Assert.True(float.IsNaN(t.Download<float>(output, 1)[0]));
    }

    [Fact]
    public void FreshMemoryReadsAsNaN()
    {
        using var gpu = new EmuGpu();
        var buf = gpu.Allocate(7 * sizeof(float));
        var host = new float[7];
        gpu.CopyToHost<float>(host, buf);
        Assert.All(host, v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void CopiesAndMemsetsMustStayInsideOneAllocation()
    {
        using var gpu = new EmuGpu();
        var a = gpu.Allocate(40);
        var b = gpu.Allocate(40);
        var past = Assert.Throws<ArgumentException>(() => gpu.CopyToHost<float>(new float[11], a));
        Assert.Contains("CopyToHost source", past.Message);
        Assert.Contains("runs 4 bytes past the end", past.Message);
        Assert.Throws<ArgumentException>(() => gpu.CopyToDevice<float>(a + 8, new float[9]));
        Assert.Throws<ArgumentException>(() => gpu.CopyDeviceToDevice(b, a + 4, 40));
        var wild = Assert.Throws<ArgumentException>(() => gpu.Memset(new DevicePtr(0x1000), 0, 4));
        Assert.Contains("not inside any live allocation", wild.Message);
        gpu.CopyDeviceToDevice(b + 4, a + 8, 32);  // interior ranges are fine
        gpu.Free(a);
        Assert.Throws<InvalidOperationException>(() => gpu.Free(a));
        Assert.Throws<ArgumentException>(() => gpu.Memset(a, 0, 4));  // use after free
    }

    [Fact]
    public void ASyncthreadsThatExitedThreadsNeverReachIsReportedNotHung()
    {
        using var t = new EmuTestGpu();
        var buf = t.Alloc<float>(64);
        var e = Assert.Throws<InvalidOperationException>(() => t.Launch("emutest_divergent_sync", 2, 64, a => a.Ptr(buf)));
        Assert.Contains("kernel emutest_divergent_sync", e.Message);
        Assert.Contains("block (0,0,0)", e.Message);
        Assert.Contains("48 wait at __syncthreads", e.Message);
        Assert.Contains("16 exited", e.Message);
    }

    [Fact]
    public void AShuffleNamingExitedLanesIsReported()
    {
        using var t = new EmuTestGpu();
        var buf = t.Alloc<float>(32);
        var e = Assert.Throws<InvalidOperationException>(() => t.Launch("emutest_divergent_shfl", 1, 32, a => a.Ptr(buf)));
        Assert.Contains("kernel emutest_divergent_shfl", e.Message);
        Assert.Contains("__shfl_xor_sync", e.Message);
    }

    [Fact]
    public void DifferentWarpIntrinsicsUnderOneMaskAreReported()
    {
        using var t = new EmuTestGpu();
        var buf = t.Alloc<uint>(32);
        var e = Assert.Throws<InvalidOperationException>(() => t.Launch("emutest_mixed_warp_ops", 1, 32, a => a.Ptr(buf)));
        Assert.Contains("divergent warp", e.Message);
        Assert.Contains("__ballot_sync", e.Message);
        Assert.Contains("__shfl_xor_sync", e.Message);
    }

    [Fact]
    public void PointerArgumentsMayPointInsideAnAllocation()
    {
        using var t = new EmuTestGpu();
        var buf = t.Alloc<float>(10);
        t.Launch("emutest_iota", 1, 32, a => a.Ptr(buf + 2 * sizeof(float)).Int(8));
        var got = t.Download<float>(buf, 10);
        Assert.True(float.IsNaN(got[0]) && float.IsNaN(got[1]));
        Assert.Equal([0f, 1, 2, 3, 4, 5, 6, 7], got[2..]);
    }
}
