namespace BayesPfl.Host;

/// <summary>
/// What the engine's CUDA launchers need from a GPU: memory, copies, kernel launches by name and GEMM with
/// cuBLAS semantics (column-major). Two implementations: CudaGpu over the real driver, and
/// the kernel emulator that CI uses (tests/KernelEmu). All calls are ordered on one stream.
/// </summary>
public interface IGpu : IDisposable
{
    /// <summary>Human-readable device description, e.g. "NVIDIA H200 (sm_90, 139 GiB)".</summary>
    string Description { get; }

    DevicePtr Allocate(long bytes);

    void Free(DevicePtr ptr);

    void CopyToDevice<T>(DevicePtr dst, ReadOnlySpan<T> src) where T : unmanaged;

    void CopyToHost<T>(Span<T> dst, DevicePtr src) where T : unmanaged;

    void CopyDeviceToDevice(DevicePtr dst, DevicePtr src, long bytes);

    void Memset(DevicePtr dst, byte value, long bytes);

    /// <summary>Launch the extern "C" kernel <paramref name="kernel"/> from the kernel sources.</summary>
    void Launch(string kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, KernelArgs args);

    /// <summary>
    /// cublasSgemmStridedBatched: C_i = alpha * op(A_i) op(B_i) + beta * C_i for i in [0, batch), column-major,
    /// fp32 everywhere (no TF32: the fp32 mode is the parity mode).
    /// </summary>
    void SgemmStridedBatched(GemmOp transA, GemmOp transB, int m, int n, int k, float alpha,
        DevicePtr a, int lda, long strideA, DevicePtr b, int ldb, long strideB, float beta,
        DevicePtr c, int ldc, long strideC, int batch);

    /// <summary>
    /// The bf16 precision mode's GEMM (cublasGemmStridedBatchedEx with A and B CUDA_R_16BF, C CUDA_R_32F,
    /// CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT): same semantics and argument order as
    /// <see cref="SgemmStridedBatched"/>, but A and B hold bfloat16 (2 bytes per element; strides and leading
    /// dimensions count elements), products are accumulated in fp32 (tensor cores on sm_80+) and C is fp32.
    /// </summary>
    void GemmBf16StridedBatched(GemmOp transA, GemmOp transB, int m, int n, int k, float alpha,
        DevicePtr a, int lda, long strideA, DevicePtr b, int ldb, long strideB, float beta,
        DevicePtr c, int ldc, long strideC, int batch);

    /// <summary>Wait for all queued work; surfaces asynchronous errors.</summary>
    void Synchronize();
}
