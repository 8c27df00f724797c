using BayesPfl.Host.Interop;

namespace BayesPfl.Host;

/// <summary>
/// Whether the CUDA driver and a GPU are present, asked once and never throwing: on machines without the
/// NVIDIA driver (CI) <see cref="IsAvailable"/> is false and <see cref="UnavailableReason"/> says why.
/// </summary>
public static class Cuda
{
    private static readonly Lazy<Probe> Result = new(ProbeDriver);

    public static bool IsAvailable => Result.Value.DeviceCount > 0;

    /// <summary>Why there is no usable device ("" when there is one).</summary>
    public static string UnavailableReason => Result.Value.Reason;

    public static int DeviceCount => Result.Value.DeviceCount;

    /// <summary>The driver library file that was loaded, or null.</summary>
    public static string? DriverLibraryPath => NativeLibraries.TryLoad(NvidiaLibrary.Driver, out _) ? NativeLibraries.LoadedPath(NvidiaLibrary.Driver) : null;

    /// <summary>The driver's CUDA version as "13.0", or null when no driver could be loaded.</summary>
    public static string? DriverVersion => Result.Value.DriverVersion is var v and > 0 ? $"{v / 1000}.{v % 1000 / 10}" : null;

    /// <summary>Name, compute capability and memory of device <paramref name="ordinal"/>.</summary>
    public static CudaDeviceInfo Device(int ordinal)
    {
        EnsureAvailable();
        if (ordinal < 0 || ordinal >= DeviceCount)
            throw new ArgumentOutOfRangeException(nameof(ordinal), $"device {ordinal} does not exist; the driver sees {DeviceCount}");
        Status.Check(CuDriver.cuDeviceGet(out var device, ordinal));
        Status.Check(CuDriver.cuDeviceGetAttribute(out var major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device));
        Status.Check(CuDriver.cuDeviceGetAttribute(out var minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device));
        Status.Check(CuDriver.cuDeviceGetAttribute(out var sms, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device));
        Status.Check(CuDriver.cuDeviceGetAttribute(out var smem, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device));
        Status.Check(CuDriver.cuDeviceTotalMem_v2(out var bytes, device));
        return new CudaDeviceInfo(ordinal, DeviceName(device), major, minor, (long)bytes, sms, smem, DriverVersion ?? "?");
    }

    /// <summary>Throws <see cref="CudaUnavailableException"/> with the reason when there is no device.</summary>
    public static void EnsureAvailable()
    {
        if (!IsAvailable) throw new CudaUnavailableException(UnavailableReason);
    }

    private static unsafe string DeviceName(int device)
    {
        var buffer = stackalloc byte[256];
        Status.Check(CuDriver.cuDeviceGetName(buffer, 256, device));
        return new string((sbyte*)buffer);
    }

    private static Probe ProbeDriver()
    {
        if (!NativeLibraries.TryLoad(NvidiaLibrary.Driver, out var error))
            return new Probe(0, 0, $"the NVIDIA driver is not installed ({error})");
        try
        {
            var version = CuDriver.cuDriverGetVersion(out var v) == CUresult.CUDA_SUCCESS ? v : 0;
            var init = CuDriver.cuInit(0);
            if (init != CUresult.CUDA_SUCCESS)
                return new Probe(0, version, $"cuInit failed: {Status.Name(init)} ({Status.Text(init)})");
            Status.Check(CuDriver.cuDeviceGetCount(out var count));
            return new Probe(count, version, count > 0 ? "" : "the driver reports no CUDA device");
        }
        catch (Exception e) when (e is CudaException or EntryPointNotFoundException or DllNotFoundException)
        {
            return new Probe(0, 0, $"{NativeLibraries.LoadedPath(NvidiaLibrary.Driver)} is unusable: {e.Message}");
        }
    }

    private sealed record Probe(int DeviceCount, int DriverVersion, string Reason);
}

/// <summary>What the driver says about one GPU.</summary>
public sealed record CudaDeviceInfo(int Ordinal, string Name, int Major, int Minor, long TotalBytes, int Multiprocessors,
    int MaxSharedBytesPerBlock, string DriverVersion)
{
    /// <summary>Compute capability as NVRTC's arch number, e.g. 90 for sm_90.</summary>
    public int Arch => Major * 10 + Minor;

    public override string ToString() => $"{Name} (sm_{Arch}, {TotalBytes / (double)(1L << 30):F1} GiB, driver {DriverVersion})";
}
