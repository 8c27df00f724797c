using BayesPfl.Engine.Tensors;
using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

/// <summary>
/// Launchers for the kernels of src/Kernels over an <see cref="IGpu"/>: the real driver, or the emulator
/// that CI runs. Each launcher checks shapes, then launches with the kernel's argument order. One backend is
/// used from one thread at a time (it reuses one argument block and one stream).
/// Op families live in the partial files CudaBackend.*.cs.
/// </summary>
public sealed partial class CudaBackend : IBackend
{
    private readonly KernelArgs args = new();
    private readonly bool ownsGpu;

    /// <param name="gpu">Where the kernels run.</param>
    /// <param name="ownsGpu">Dispose the GPU with the backend (a GPU shared by several backends is not owned).</param>
    public CudaBackend(IGpu gpu, bool ownsGpu = false)
    {
        Gpu = gpu;
        this.ownsGpu = ownsGpu;
        bf16Input = Scratch.Bf16LinearInput(this);
        attentionScores = Scratch.AttentionScores(this);
        attentionProbs = Scratch.AttentionProbabilities(this);
    }

    public IGpu Gpu { get; }

    public string Name => "cuda";

    public Tensor Allocate(Shape shape, string name, DType dtype = DType.F32) =>
        new CudaTensor(this, name, shape, dtype, Gpu.Allocate(Math.Max(1, shape.Length * dtype.Size())), ownsMemory: true);

    public void Upload(Tensor dst, ReadOnlySpan<float> src)
    {
        Check.That(src.Length == dst.Length, "Upload", $"{dst.Name}{dst.Shape} needs {dst.Length} values, got {src.Length}");
        if (dst.DType == DType.BF16) UploadBf16(dst, src);
        else Gpu.CopyToDevice(Dev(dst), src);
    }

    public void Download(Tensor src, Span<float> dst)
    {
        Check.That(src.Length == dst.Length, "Download", $"{src.Name}{src.Shape} has {src.Length} values, destination holds {dst.Length}");
        if (src.DType == DType.BF16) DownloadBf16(dst, src);
        else Gpu.CopyToHost(dst, Dev(src));
    }

    public void Copy(Tensor dst, Tensor src)
    {
        Check.Length("Copy", dst, src.Length);
        Check.SameDType("Copy", dst, src);
        Gpu.CopyDeviceToDevice(Dev(dst), Dev(src), src.Bytes);
    }

    public void Zero(Tensor t) => Gpu.Memset(Dev(t), 0, t.Bytes);

    public void Synchronize() => Gpu.Synchronize();

    public void Dispose()
    {
        segPartials?.Dispose();
        bf16Input.Dispose();
        attentionScores.Dispose();
        attentionProbs.Dispose();
        args.Dispose();
        if (ownsGpu) Gpu.Dispose();
    }

    /// <summary>The device address of a tensor, or a clear error when it lives elsewhere.</summary>
    internal static DevicePtr Dev(Tensor t) =>
        (t as CudaTensor ?? throw new ArgumentException($"{t.Name} lives on {t.Backend.Name}, not on the CUDA backend")).Ptr;

    internal static DevicePtr DevOrNull(Tensor? t) => t is null ? DevicePtr.Null : Dev(t);

    /// <summary>A fresh argument block for the next launch.</summary>
    internal KernelArgs Args()
    {
        args.Clear();
        return args;
    }

    internal static int Blocks(long work, int perBlock) => checked((int)((work + perBlock - 1) / perBlock));
}
