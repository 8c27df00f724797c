using BayesPfl.Host.Interop;

namespace BayesPfl.Host;

/// <summary>Kernel launches (modules compiled and loaded on first use), cuBLAS GEMMs and event timing.</summary>
public sealed unsafe partial class CudaGpu
{
    /// <summary>Dynamic shared memory a kernel may use without opting in (CUDA's static limit).</summary>
    private const int DefaultSharedLimit = 48 * 1024;

    private readonly Dictionary<string, CudaModuleHandle> modules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Function> functions = new(StringComparer.Ordinal);
    private CublasHandle? cublas;
    private EventHandle? timerStart, timerEnd;
    private string? lastKernel;

    public void Launch(string kernel, Dim3 grid, Dim3 block, int dynamicSharedBytes, KernelArgs args)
    {
        var function = FunctionFor(kernel, dynamicSharedBytes);
        MakeCurrent();
        var r = CuDriver.cuLaunchKernel(function, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, (uint)dynamicSharedBytes,
            stream.Value, args.Pointers, IntPtr.Zero);
        if (r != CUresult.CUDA_SUCCESS)
            throw Status.Error(r, $"cuLaunchKernel({kernel}, grid {Text(grid)}, block {Text(block)}, {dynamicSharedBytes} B shared, {args.Count} args)");
        lastKernel = kernel;
        if (SynchronizeEveryLaunch) Synchronize();
    }

    /// <summary>
    /// Wait after every launch, so that a kernel that faults is named by the error instead of a later call.
    /// Slow; for debugging, and on by default when BAYESPFL_CUDA_SYNC=1.
    /// </summary>
    public bool SynchronizeEveryLaunch { get; set; } = Environment.GetEnvironmentVariable("BAYESPFL_CUDA_SYNC") == "1";

    /// <summary>Compiles and loads the modules of <paramref name="kernels"/> (default: all) now instead of at first launch.</summary>
    public void Preload(IEnumerable<string>? kernels = null)
    {
        foreach (var k in kernels ?? Sources.Kernels) FunctionFor(k, 0);
    }

    public void SgemmStridedBatched(GemmOp transA, GemmOp transB, int m, int n, int k, float alpha, DevicePtr a, int lda, long strideA,
        DevicePtr b, int ldb, long strideB, float beta, DevicePtr c, int ldc, long strideC, int batch)
    {
        lock (gate)
        {
            // cuBLAS runs on the runtime API, which uses whatever context is current on the calling thread.
            MakeCurrent();
            var handle = Cublas();
            Status.Check(CublasApi.cublasSgemmStridedBatched(handle, transA, transB, m, n, k, &alpha, a.Address, lda, strideA,
                b.Address, ldb, strideB, &beta, c.Address, ldc, strideC, batch));
        }
    }

    /// <summary>
    /// bf16 operands, fp32 C and fp32 accumulation (CUBLAS_COMPUTE_32F: tensor cores on sm_80+, never a reduced-precision
    /// accumulator); CUBLAS_GEMM_DEFAULT lets cuBLAS pick the kernel. alpha and beta are floats, as COMPUTE_32F requires.
    /// </summary>
    public void GemmBf16StridedBatched(GemmOp transA, GemmOp transB, int m, int n, int k, float alpha, DevicePtr a, int lda, long strideA,
        DevicePtr b, int ldb, long strideB, float beta, DevicePtr c, int ldc, long strideC, int batch)
    {
        lock (gate)
        {
            MakeCurrent();
            var handle = Cublas();
            Status.Check(CublasApi.cublasGemmStridedBatchedEx(handle, transA, transB, m, n, k, &alpha,
                a.Address, cudaDataType_t.CUDA_R_16BF, lda, strideA, b.Address, cudaDataType_t.CUDA_R_16BF, ldb, strideB, &beta,
                c.Address, cudaDataType_t.CUDA_R_32F, ldc, strideC, batch, cublasComputeType_t.CUBLAS_COMPUTE_32F, cublasGemmAlgo_t.CUBLAS_GEMM_DEFAULT));
        }
    }

    /// <summary>GPU time of the work <paramref name="work"/> queues, measured with two events on the stream.</summary>
    public float TimeMilliseconds(Action work)
    {
        MakeCurrent();
        lock (gate)
        {
            timerStart ??= NewEvent();
            timerEnd ??= NewEvent();
        }
        Status.Check(CuDriver.cuEventRecord(timerStart.Value, stream.Value));
        work();
        MakeCurrent();
        Status.Check(CuDriver.cuEventRecord(timerEnd.Value, stream.Value));
        Status.Check(CuDriver.cuEventSynchronize(timerEnd.Value));
        Status.Check(CuDriver.cuEventElapsedTime(out var ms, timerStart.Value, timerEnd.Value));
        return ms;
    }

    private static EventHandle NewEvent()
    {
        Status.Check(CuDriver.cuEventCreate(out var e, 0));
        return new EventHandle(e);
    }

    private IntPtr FunctionFor(string kernel, int dynamicSharedBytes)
    {
        lock (gate)
        {
            MakeCurrent();
            if (!functions.TryGetValue(kernel, out var f))
            {
                var module = ModuleFor(Sources.FileOf(kernel));
                var r = CuDriver.cuModuleGetFunction(out var handle, module.Value, kernel);
                if (r != CUresult.CUDA_SUCCESS) throw Status.Error(r, $"cuModuleGetFunction({kernel} in {Sources.FileOf(kernel)})");
                functions[kernel] = f = new Function(handle, DefaultSharedLimit);
            }
            if (dynamicSharedBytes > f.SharedLimit)
            {
                // Above 48 KiB a kernel must opt in, once per size it grows to.
                var r = CuDriver.cuFuncSetAttribute(f.Handle, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, dynamicSharedBytes);
                if (r != CUresult.CUDA_SUCCESS)
                    throw Status.Error(r, $"cuFuncSetAttribute({kernel}, max dynamic shared = {dynamicSharedBytes} B; device allows {Device.MaxSharedBytesPerBlock})");
                functions[kernel] = f = f with { SharedLimit = dynamicSharedBytes };
            }
            return f.Handle;
        }
    }

    private CudaModuleHandle ModuleFor(string file)
    {
        if (modules.TryGetValue(file, out var module)) return module;
        var compiled = Compiler.Compile(file, Device.Arch);
        fixed (byte* image = compiled.Image)
        {
            var r = CuDriver.cuModuleLoadData(out var handle, image);
            if (r != CUresult.CUDA_SUCCESS) throw Status.Error(r, $"cuModuleLoadData({file}, {compiled.Target} {(compiled.IsCubin ? "CUBIN" : "PTX")})");
            return modules[file] = new CudaModuleHandle(handle);
        }
    }

    /// <summary>
    /// The cuBLAS handle, created on first GEMM so that kernel-only use works without cuBLAS installed.
    /// CUBLAS_DEFAULT_MATH: fp32 GEMMs stay fp32 (cuBLAS uses TF32 only when asked to), which the fp32
    /// parity mode relies on.
    /// </summary>
    private IntPtr Cublas()
    {
        if (cublas is not null) return cublas.Value;
        if (!NativeLibraries.TryLoad(NvidiaLibrary.Cublas, out var error)) throw new CudaUnavailableException($"cuBLAS is missing: {error}");
        MakeCurrent();
        Status.Check(CublasApi.cublasCreate_v2(out var raw));
        var handle = new CublasHandle(raw);
        try
        {
            Status.Check(CublasApi.cublasSetStream_v2(handle.Value, stream.Value));
            Status.Check(CublasApi.cublasSetMathMode(handle.Value, cublasMath_t.CUBLAS_DEFAULT_MATH));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        cublas = handle;
        return handle.Value;
    }

    private void DisposeKernelsAndBlas()
    {
        cublas?.Dispose();
        foreach (var m in modules.Values) m.Dispose();
        modules.Clear();
        functions.Clear();
        timerStart?.Dispose();
        timerEnd?.Dispose();
    }

    private static string Text(Dim3 d) => $"({d.X},{d.Y},{d.Z})";

    private readonly record struct Function(IntPtr Handle, int SharedLimit);
}
