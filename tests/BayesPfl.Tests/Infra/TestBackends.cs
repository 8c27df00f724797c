using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.KernelEmu;

namespace BayesPfl.Tests.Infra;

/// <summary>The backends tests run ops on.</summary>
public static class TestBackends
{
    public static CpuBackend Cpu() => new();

    /// <summary>The real CudaBackend launchers over the kernel emulator (runs in CI, no GPU needed).</summary>
    public static CudaBackend Emulated() => new(new EmuGpu());
}
