using System.Runtime.InteropServices;

namespace BayesPfl.Host.Interop;

/// <summary>cublasStatus_t; cuBLAS 11 has no cublasGetStatusName, so <see cref="CublasNames"/> names them.</summary>
internal enum cublasStatus_t
{
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
    CUBLAS_STATUS_LICENSE_ERROR = 16,
}

internal enum cublasMath_t
{
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_PEDANTIC_MATH = 2,
}

/// <summary>cudaDataType_t values used by the *Ex GEMMs.</summary>
internal enum cudaDataType_t
{
    CUDA_R_32F = 0,
    CUDA_R_16F = 2,
    CUDA_R_16BF = 14,
}

internal enum cublasComputeType_t
{
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_PEDANTIC = 69,
}

internal enum cublasGemmAlgo_t
{
    CUBLAS_GEMM_DEFAULT = -1,
}

/// <summary>
/// cuBLAS v2 API, native names. Column-major; pointer mode stays at its default (host), so alpha and beta are
/// host pointers. Device pointers are passed as 64-bit addresses. cublasGemmStridedBatchedEx is the bf16 precision
/// mode's GEMM (IGpu.GemmBf16StridedBatched: bf16 A and B, fp32 C, CUBLAS_COMPUTE_32F); the enum values above are
/// those of library_types.h and cublas_api.h (CUDA_R_16BF 14, CUDA_R_32F 0, CUBLAS_COMPUTE_32F 68), which are ABI.
/// </summary>
internal static unsafe partial class CublasApi
{
    private const string Lib = NativeLibraries.Cublas;

    static CublasApi() => NativeLibraries.EnsureResolver();

    [LibraryImport(Lib)] internal static partial cublasStatus_t cublasCreate_v2(out IntPtr handle);

    [LibraryImport(Lib)] internal static partial cublasStatus_t cublasDestroy_v2(IntPtr handle);

    [LibraryImport(Lib)] internal static partial cublasStatus_t cublasGetVersion_v2(IntPtr handle, out int version);

    [LibraryImport(Lib)] internal static partial cublasStatus_t cublasSetStream_v2(IntPtr handle, IntPtr stream);

    [LibraryImport(Lib)] internal static partial cublasStatus_t cublasSetMathMode(IntPtr handle, cublasMath_t mode);

    [LibraryImport(Lib)]
    internal static partial cublasStatus_t cublasSgemmStridedBatched(IntPtr handle, GemmOp transA, GemmOp transB, int m, int n, int k,
        float* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount);

    [LibraryImport(Lib)]
    internal static partial cublasStatus_t cublasGemmEx(IntPtr handle, GemmOp transA, GemmOp transB, int m, int n, int k,
        void* alpha, ulong a, cudaDataType_t aType, int lda, ulong b, cudaDataType_t bType, int ldb, void* beta,
        ulong c, cudaDataType_t cType, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo);

    [LibraryImport(Lib)]
    internal static partial cublasStatus_t cublasGemmStridedBatchedEx(IntPtr handle, GemmOp transA, GemmOp transB, int m, int n, int k,
        void* alpha, ulong a, cudaDataType_t aType, int lda, long strideA, ulong b, cudaDataType_t bType, int ldb, long strideB, void* beta,
        ulong c, cudaDataType_t cType, int ldc, long strideC, int batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo);
}
