using System.Runtime.InteropServices;

namespace BayesPfl.Host.Interop;

/// <summary>CUDA driver API status (CUresult); only the values the host layer branches on are named.</summary>
internal enum CUresult
{
    CUDA_SUCCESS = 0,
    CUDA_ERROR_NO_DEVICE = 100,
}

/// <summary>CUdevice_attribute values the host layer reads.</summary>
internal enum CUdevice_attribute
{
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
}

/// <summary>CUfunction_attribute values the host layer sets.</summary>
internal enum CUfunction_attribute
{
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
}

/// <summary>
/// CUDA driver API (libcuda), native names and the exported (_v2) symbols that cuda.h maps the plain names to.
/// Handles (CUcontext, CUmodule, CUfunction, CUstream, CUevent) are pointers; CUdevice is an int;
/// CUdeviceptr is 64-bit.
/// </summary>
internal static unsafe partial class CuDriver
{
    private const string Lib = NativeLibraries.Driver;

    static CuDriver() => NativeLibraries.EnsureResolver();

    [LibraryImport(Lib)] internal static partial CUresult cuInit(uint flags);

    [LibraryImport(Lib)] internal static partial CUresult cuDriverGetVersion(out int version);

    [LibraryImport(Lib)] internal static partial CUresult cuGetErrorName(CUresult error, out IntPtr name);

    [LibraryImport(Lib)] internal static partial CUresult cuGetErrorString(CUresult error, out IntPtr text);

    [LibraryImport(Lib)] internal static partial CUresult cuDeviceGetCount(out int count);

    [LibraryImport(Lib)] internal static partial CUresult cuDeviceGet(out int device, int ordinal);

    [LibraryImport(Lib)] internal static partial CUresult cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(Lib)] internal static partial CUresult cuDeviceGetAttribute(out int value, CUdevice_attribute attribute, int device);

    [LibraryImport(Lib)] internal static partial CUresult cuDeviceTotalMem_v2(out nuint bytes, int device);

    [LibraryImport(Lib)] internal static partial CUresult cuDevicePrimaryCtxRetain(out IntPtr context, int device);

    [LibraryImport(Lib)] internal static partial CUresult cuDevicePrimaryCtxRelease_v2(int device);

    [LibraryImport(Lib)] internal static partial CUresult cuCtxSetCurrent(IntPtr context);

    [LibraryImport(Lib)] internal static partial CUresult cuMemAlloc_v2(out ulong devicePtr, nuint bytes);

    [LibraryImport(Lib)] internal static partial CUresult cuMemFree_v2(ulong devicePtr);

    [LibraryImport(Lib)] internal static partial CUresult cuMemcpyHtoDAsync_v2(ulong dst, void* src, nuint bytes, IntPtr stream);

    [LibraryImport(Lib)] internal static partial CUresult cuMemcpyDtoHAsync_v2(void* dst, ulong src, nuint bytes, IntPtr stream);

    [LibraryImport(Lib)] internal static partial CUresult cuMemcpyDtoDAsync_v2(ulong dst, ulong src, nuint bytes, IntPtr stream);

    [LibraryImport(Lib)] internal static partial CUresult cuMemsetD8Async(ulong dst, byte value, nuint count, IntPtr stream);

    [LibraryImport(Lib)] internal static partial CUresult cuStreamCreate(out IntPtr stream, uint flags);

    [LibraryImport(Lib)] internal static partial CUresult cuStreamDestroy_v2(IntPtr stream);

    [LibraryImport(Lib)] internal static partial CUresult cuStreamSynchronize(IntPtr stream);

    [LibraryImport(Lib)] internal static partial CUresult cuEventCreate(out IntPtr evt, uint flags);

    [LibraryImport(Lib)] internal static partial CUresult cuEventRecord(IntPtr evt, IntPtr stream);

    [LibraryImport(Lib)] internal static partial CUresult cuEventSynchronize(IntPtr evt);

    [LibraryImport(Lib)] internal static partial CUresult cuEventElapsedTime(out float milliseconds, IntPtr start, IntPtr end);

    [LibraryImport(Lib)] internal static partial CUresult cuEventDestroy_v2(IntPtr evt);

    [LibraryImport(Lib)] internal static partial CUresult cuModuleLoadData(out IntPtr module, void* image);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial CUresult cuModuleGetFunction(out IntPtr function, IntPtr module, string name);

    [LibraryImport(Lib)] internal static partial CUresult cuModuleUnload(IntPtr module);

    [LibraryImport(Lib)] internal static partial CUresult cuFuncSetAttribute(IntPtr function, CUfunction_attribute attribute, int value);

    [LibraryImport(Lib)]
    internal static partial CUresult cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, IntPtr stream, IntPtr kernelParams, IntPtr extra);
}
