using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// The reference backend: plain C# over float arrays. Each op forwards to a generic reference routine
/// (classes named *Reference in this folder) that also runs in double for finite-difference tests.
/// Op families live in the partial files CpuBackend.*.cs.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    public string Name => "cpu";

    public Tensor Allocate(Shape shape, string name, DType dtype = DType.F32)
    {
        if (dtype is not (DType.F32 or DType.BF16)) throw new NotSupportedException($"{name}: the CPU backend stores F32 and BF16, not {dtype}");
        if (shape.Length > Array.MaxLength) throw new ArgumentException($"{name}: {shape} has {shape.Length} elements, more than one CPU array holds");
        return new CpuTensor(this, name, shape, dtype, new float[shape.Length], 0);
    }

    public void Upload(Tensor dst, ReadOnlySpan<float> src)
    {
        Check.That(src.Length == dst.Length, "Upload", $"{dst.Name}{dst.Shape} needs {dst.Length} values, got {src.Length}");
        CastReference.Convert(Cpu(dst).Span, dst.DType, src, DType.F32);
    }

    public void Download(Tensor src, Span<float> dst)
    {
        Check.That(src.Length == dst.Length, "Download", $"{src.Name}{src.Shape} has {src.Length} values, destination holds {dst.Length}");
        Cpu(src).Span.CopyTo(dst);
    }

    public void Copy(Tensor dst, Tensor src)
    {
        Check.Length("Copy", dst, src.Length);
        Check.SameDType("Copy", dst, src);
        Cpu(src).Span.CopyTo(Cpu(dst).Span);
    }

    public void Zero(Tensor t) => Cpu(t).Span.Clear();

    public void Cast(Tensor dst, Tensor src)
    {
        Check.Length("Cast", dst, src.Length);
        CastReference.Convert(Cpu(dst).Span, dst.DType, Cpu(src).Span, src.DType);
    }

    public void Synchronize()
    {
    }

    public void Dispose()
    {
    }

    /// <summary>The CPU view of a tensor, or a clear error when it lives elsewhere.</summary>
    internal static CpuTensor Cpu(Tensor t) =>
        t as CpuTensor ?? throw new ArgumentException($"{t.Name} lives on {t.Backend.Name}, not on the CPU backend");

    internal static CpuTensor? CpuOrNull(Tensor? t) => t is null ? null : Cpu(t);
}
