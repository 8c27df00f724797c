using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Host;

namespace BayesPfl.Engine.Detection;

/// <summary>The backend a --device choice means: the one place that picks it (detector, train, validate, bench).</summary>
public static class DeviceBackends
{
    /// <summary>Auto: CUDA when a device is present, else the CPU. Cuda without a device is an <see cref="InvalidOperationException"/> saying why.</summary>
    public static IBackend Open(DetectorDevice device) =>
        UsesCuda(device) ? new CudaBackend(new CudaGpu(EngineKernels.Sources), ownsGpu: true) : new CpuBackend();

    /// <summary>Whether <see cref="Open"/> would pick CUDA, without opening anything (same error for a missing device).</summary>
    public static bool UsesCuda(DetectorDevice device) => device switch
    {
        DetectorDevice.Cpu => false,
        DetectorDevice.Cuda => Cuda.IsAvailable ? true : throw new InvalidOperationException($"--device cuda: no CUDA device ({Cuda.UnavailableReason})"),
        _ => Cuda.IsAvailable,
    };
}
