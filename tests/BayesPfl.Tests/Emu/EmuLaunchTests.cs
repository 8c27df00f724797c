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
        using var gpu = new EmuGpu();
        const int N = 1000;
        var buf = gpu.Allocate(N * sizeof(float));
        using var args = new KernelArgs().Ptr(buf).Int(N);
        gpu.Launch("emutest_iota", 4, 256, 0, args);
        var host = new float[N];
        gpu.CopyToHost<float>(host, buf);
        Assert.Equal(Enumerable.Range(0, N).Select(i => (float)i), host);
        gpu.Free(buf);
    }
}
