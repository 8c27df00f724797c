namespace BayesPfl.Host;

/// <summary>
/// A CUDA driver, NVRTC or cuBLAS call returned an error. The message names the call (its source text), the
/// library's name for the status and its description, e.g.
/// "CuDriver.cuMemAlloc_v2(out var address, (nuint)bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
/// </summary>
public sealed class CudaException : Exception
{
    public CudaException(string call, int status, string statusName, string statusText)
        : base($"{call} failed: {statusName}{(statusText.Length > 0 ? $" ({statusText})" : "")}")
    {
        Call = call;
        Status = status;
        StatusName = statusName;
    }

    /// <summary>The failing call as written in the source.</summary>
    public string Call { get; }

    /// <summary>The numeric status (CUresult, nvrtcResult or cublasStatus_t).</summary>
    public int Status { get; }

    /// <summary>The status' name, e.g. CUDA_ERROR_ILLEGAL_ADDRESS.</summary>
    public string StatusName { get; }
}

/// <summary>No usable CUDA device: the driver is missing, it finds no GPU, or NVRTC/cuBLAS cannot be loaded.</summary>
public sealed class CudaUnavailableException(string reason) : Exception($"no CUDA device: {reason}");

/// <summary>NVRTC rejected a kernel source. Carries the file, the target and NVRTC's full log.</summary>
public sealed class KernelCompileException(string file, string target, string status, string log)
    : Exception($"NVRTC could not compile {file} for {target} ({status}):\n{log}")
{
    public string File { get; } = file;

    public string Target { get; } = target;

    public string Log { get; } = log;
}
