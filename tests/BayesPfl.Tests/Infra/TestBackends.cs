using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Host;
using BayesPfl.KernelEmu;

namespace BayesPfl.Tests.Infra;

/// <summary>The backends tests run ops on.</summary>
public static class TestBackends
{
    /// <summary>One real GPU per test process: the context and the loaded modules are shared by every test.</summary>
    private static readonly Lazy<CudaGpu?> SharedGpu = new(() => Cuda.IsAvailable ? new CudaGpu(EngineKernels.Sources) : null);

    public static CpuBackend Cpu() => new();

    /// <summary>The real CudaBackend launchers over the kernel emulator (runs in CI, no GPU needed).</summary>
    public static CudaBackend Emulated() => new(new EmuGpu(), ownsGpu: true);

    /// <summary>
    /// The CudaBackend over the real GPU (device 0), or null and why there is none. Tests call
    /// <c>Assert.Skip(reason)</c> on null. The GPU itself lives for the whole test process.
    /// </summary>
    public static (CudaBackend? Backend, string Reason) RealGpu() =>
        SharedGpu.Value is { } gpu ? (new CudaBackend(gpu), "") : (null, $"no CUDA device: {Cuda.UnavailableReason}");
}
