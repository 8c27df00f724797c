using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// The bf16 rounding of the CPU backend: a BF16 tensor on the CPU stores floats that are exactly bf16 values, so
/// F32 → BF16 is <see cref="Bf16.Round"/> per element and BF16 → F32 is a copy. Upload, Cast and the bf16 Linear
/// all round through here; the tests use it as the reference of the device's cast kernel.
/// </summary>
public static class CastReference
{
    public static void RoundToBf16(Span<float> dst, ReadOnlySpan<float> src)
    {
        if (dst.Length != src.Length) throw new ArgumentException($"RoundToBf16: {src.Length} values into {dst.Length}");
        for (var i = 0; i < src.Length; i++) dst[i] = Bf16.Round(src[i]);
    }

    /// <summary>Copies src into dst, rounding when dst is BF16 and src is not (widening needs nothing: the values are exact).</summary>
    public static void Convert(Span<float> dst, DType dstType, ReadOnlySpan<float> src, DType srcType)
    {
        if (dstType == DType.BF16 && srcType != DType.BF16) RoundToBf16(dst, src);
        else src.CopyTo(dst);
    }
}
