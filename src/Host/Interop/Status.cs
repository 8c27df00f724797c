using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BayesPfl.Host.Interop;

/// <summary>Turns every non-success status of the three libraries into a <see cref="CudaException"/>.</summary>
internal static class Status
{
    internal static void Check(CUresult result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != CUresult.CUDA_SUCCESS) throw Error(result, call);
    }

    internal static CudaException Error(CUresult result, string call) => new(call, (int)result, Name(result), Text(result));

    internal static void Check(nvrtcResult result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != nvrtcResult.NVRTC_SUCCESS) throw new CudaException(call, (int)result, Name(result), "");
    }

    internal static void Check(cublasStatus_t result, [CallerArgumentExpression(nameof(result))] string call = "")
    {
        if (result != cublasStatus_t.CUBLAS_STATUS_SUCCESS)
            throw new CudaException(call, (int)result, Enum.IsDefined(result) ? result.ToString() : $"cublasStatus_t {(int)result}", "");
    }

    /// <summary>The driver's name for a status, e.g. CUDA_ERROR_NO_DEVICE.</summary>
    internal static string Name(CUresult result) =>
        CuDriver.cuGetErrorName(result, out var p) == CUresult.CUDA_SUCCESS && Marshal.PtrToStringUTF8(p) is { } s ? s : $"CUresult {(int)result}";

    internal static string Text(CUresult result) =>
        CuDriver.cuGetErrorString(result, out var p) == CUresult.CUDA_SUCCESS && Marshal.PtrToStringUTF8(p) is { } s ? s : "";

    internal static string Name(nvrtcResult result) => Marshal.PtrToStringUTF8(NvrtcApi.nvrtcGetErrorString(result)) ?? $"nvrtcResult {(int)result}";
}
