namespace BayesPfl.Engine.Tensors;

/// <summary>
/// bfloat16 on the host: the top 16 bits of an fp32, rounded to nearest even. The one conversion every host path
/// uses (safetensors, BF16 tensors on the CPU and their uploads to the GPU); src/Kernels/common.cuh mirrors it bit
/// for bit on the device. NaN stays a (quiet) NaN with its sign; a finite value above the largest bf16 rounds to ±Inf.
/// </summary>
public static class Bf16
{
    public static ushort FromFloat(float f)
    {
        var bits = BitConverter.SingleToUInt32Bits(f);
        // Rounding could carry a NaN's payload into the exponent (→ Inf) or truncate it to zero (→ Inf): keep the
        // top payload bits and force the quiet bit instead.
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        var rounding = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>Exact: every bf16 is an fp32 with 16 zero low bits.</summary>
    public static float ToFloat(ushort b) => BitConverter.Int32BitsToSingle(b << 16);

    /// <summary>The bf16 value nearest to f, as a float (what a CPU BF16 tensor stores).</summary>
    public static float Round(float f) => ToFloat(FromFloat(f));

    public static void FromFloats(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (src.Length != dst.Length) throw new ArgumentException($"bf16 conversion of {src.Length} floats into {dst.Length} slots");
        for (var i = 0; i < src.Length; i++) dst[i] = FromFloat(src[i]);
    }

    public static void ToFloats(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (src.Length != dst.Length) throw new ArgumentException($"bf16 widening of {src.Length} values into {dst.Length} floats");
        for (var i = 0; i < src.Length; i++) dst[i] = ToFloat(src[i]);
    }
}
