using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Host;
using BayesPfl.Host.Interop;
using Xunit;

namespace BayesPfl.Tests.Host;

/// <summary>On machines without a GPU (CI) the host layer says so without crashing.</summary>
public sealed class CudaAvailabilityTests
{
    private static void RequireNoDevice()
    {
        if (Cuda.IsAvailable) Assert.Skip($"a CUDA device is present ({Cuda.Device(0)}); this test covers machines without one");
    }

    [Fact]
    public void UnavailableWithAReason()
    {
        RequireNoDevice();
        Assert.False(Cuda.IsAvailable);
        Assert.Equal(0, Cuda.DeviceCount);
        Assert.False(string.IsNullOrWhiteSpace(Cuda.UnavailableReason));
        // Either the driver is missing (the file name is in the reason) or it found no device (cuInit's status is).
        Assert.True(Cuda.UnavailableReason.Contains("libcuda", StringComparison.Ordinal) || Cuda.UnavailableReason.Contains("CUDA_ERROR", StringComparison.Ordinal),
            Cuda.UnavailableReason);
    }

    [Fact]
    public void ConstructingCudaGpuThrowsTheReason()
    {
        RequireNoDevice();
        var e = Assert.Throws<CudaUnavailableException>(() => new CudaGpu(EngineKernels.Sources));
        Assert.Contains(Cuda.UnavailableReason, e.Message);
        Assert.StartsWith("no CUDA device: ", e.Message);
    }

    [Fact]
    public void CallingTheDriverWithoutItNamesWhatWasTried()
    {
        RequireNoDevice();
        if (NativeLibraries.TryLoad(NvidiaLibrary.Driver, out _)) Assert.Skip("libcuda loads here (driver without a device)");
        // The resolver's own message replaces the runtime's generic one for "bayespfl-cuda".
        var e = Assert.Throws<DllNotFoundException>(() => CuDriver.cuDriverGetVersion(out _));
        Assert.Contains("libcuda.so.1", e.Message);
    }

    [Fact]
    public void StatusCheckNamesTheCallAndTheStatus()
    {
        var e = Assert.Throws<CudaException>(() => Status.Check(cublasStatus_t.CUBLAS_STATUS_INVALID_VALUE));
        Assert.Equal("cublasStatus_t.CUBLAS_STATUS_INVALID_VALUE", e.Call);
        Assert.Equal("CUBLAS_STATUS_INVALID_VALUE", e.StatusName);
        Assert.Equal(7, e.Status);
    }

    [Fact]
    public void DeviceDescriptionShowsArchMemoryAndDriver()
    {
        var info = new CudaDeviceInfo(0, "NVIDIA H200", 9, 0, 150_121_545_728, 132, 232_448, "13.0");
        Assert.Equal(90, info.Arch);
        Assert.Equal("NVIDIA H200 (sm_90, 139.8 GiB, driver 13.0)", info.ToString());
    }
}
