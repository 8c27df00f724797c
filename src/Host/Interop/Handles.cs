using Microsoft.Win32.SafeHandles;

namespace BayesPfl.Host.Interop;

/// <summary>
/// Owned driver, NVRTC and cuBLAS objects. Release runs in Dispose or, if that was forgotten, in the finalizer;
/// a failing release is reported to the runtime (ReleaseHandle returns false), it cannot throw there.
/// Objects that belong to a context must be released while that context is current: CudaGpu disposes them
/// in order before it releases the context.
/// </summary>
internal abstract class CudaHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    protected CudaHandle(IntPtr value) : base(ownsHandle: true) => SetHandle(value);

    /// <summary>The raw handle for a call; valid while this object is alive and not disposed.</summary>
    internal IntPtr Value => handle;
}

/// <summary>A retained primary context; releasing it needs the device ordinal, not the context.</summary>
internal sealed class PrimaryContextHandle(IntPtr context, int device) : CudaHandle(context)
{
    internal int Device { get; } = device;

    protected override bool ReleaseHandle() => CuDriver.cuDevicePrimaryCtxRelease_v2(Device) == CUresult.CUDA_SUCCESS;
}

internal sealed class CudaModuleHandle(IntPtr module) : CudaHandle(module)
{
    protected override bool ReleaseHandle() => CuDriver.cuModuleUnload(handle) == CUresult.CUDA_SUCCESS;
}

internal sealed class StreamHandle(IntPtr stream) : CudaHandle(stream)
{
    protected override bool ReleaseHandle() => CuDriver.cuStreamDestroy_v2(handle) == CUresult.CUDA_SUCCESS;
}

internal sealed class EventHandle(IntPtr evt) : CudaHandle(evt)
{
    protected override bool ReleaseHandle() => CuDriver.cuEventDestroy_v2(handle) == CUresult.CUDA_SUCCESS;
}

internal sealed class CublasHandle(IntPtr cublas) : CudaHandle(cublas)
{
    protected override bool ReleaseHandle() => CublasApi.cublasDestroy_v2(handle) == cublasStatus_t.CUBLAS_STATUS_SUCCESS;
}

internal sealed class NvrtcProgramHandle(IntPtr program) : CudaHandle(program)
{
    protected override bool ReleaseHandle()
    {
        var p = handle;
        return NvrtcApi.nvrtcDestroyProgram(ref p) == nvrtcResult.NVRTC_SUCCESS;
    }
}
