using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using Xunit;

namespace BayesPfl.Tests.Ops.Bf16;

/// <summary>Test data for the bf16 mode: typed tensors, values that stress the rounding, and bit-exact comparison.</summary>
public static class Bf16Kit
{
    /// <summary>
    /// Floats (as bits) where round-to-nearest-even is easy to get wrong, each with the bf16 bits it must become
    /// (derived by hand: bf16 keeps the top 16 bits, so the dropped half decides; 0x8000 dropped is the tie).
    /// </summary>
    public static readonly (uint F32, ushort Bf16, string Why)[] Hostile =
    [
        (0x3F800000, 0x3F80, "1 exactly"),
        (0x3F808000, 0x3F80, "1 + 2^-8: tie, down to the even 1"),
        (0x3F818000, 0x3F82, "1 + 3*2^-8: tie, up to the even 1 + 2^-6"),
        (0x3F807FFF, 0x3F80, "just below the halfway point"),
        (0x3F808001, 0x3F81, "just above the halfway point"),
        (0xBF818000, 0xBF82, "negative tie, away from zero to the even"),
        (0xBF808000, 0xBF80, "negative tie, toward zero to the even"),
        (0x3FFFFFFF, 0x4000, "carry into the exponent"),
        (0x00000000, 0x0000, "+0"),
        (0x80000000, 0x8000, "-0"),
        (0x00008000, 0x0000, "subnormal tie down to +0"),
        (0x00018000, 0x0002, "subnormal tie up to the even"),
        (0x007FFFFF, 0x0080, "largest subnormal rounds to the smallest normal"),
        (0x80010001, 0x8001, "negative subnormal, below the halfway point: truncates"),
        (0x7F7F7FFF, 0x7F7F, "largest float that stays finite in bf16"),
        (0x7F7FFFFF, 0x7F80, "max finite float rounds to +Inf"),
        (0xFF7FFFFF, 0xFF80, "-max finite float rounds to -Inf"),
        (0x7F800000, 0x7F80, "+Inf"),
        (0xFF800000, 0xFF80, "-Inf"),
        (0x7FC00000, 0x7FC0, "quiet NaN"),
        (0x7F800001, 0x7FC0, "signalling NaN whose payload is all dropped: stays NaN, made quiet"),
        (0xFFFFFFFF, 0xFFFF, "negative NaN, full payload"),
        (0x7FFF8000, 0x7FFF, "NaN whose rounding would carry into the sign"),
    ];

    /// <summary>n floats: the hostile values first (cycled), then a spread of magnitudes from 1e-40 to 1e38, both signs.</summary>
    public static float[] Values(int n, int seed)
    {
        var r = new Random(seed);
        var v = new float[n];
        for (var i = 0; i < n; i++)
            v[i] = i < Hostile.Length * 2 ? BitConverter.UInt32BitsToSingle(Hostile[i % Hostile.Length].F32)
                : (float)((r.NextDouble() * 2 - 1) * Math.Pow(10, r.Next(-40, 39)));
        return v;
    }

    /// <summary>What a BF16 tensor holds after an upload of v (the CPU reference rounding).</summary>
    public static float[] Rounded(float[] v)
    {
        var r = new float[v.Length];
        CastReference.RoundToBf16(r, v);
        return r;
    }

    public static Tensor Put(IBackend be, string name, float[] data, DType dtype, params int[] shape)
    {
        var t = be.Allocate(new Shape(shape), name, dtype);
        be.Upload(t, data);
        return t;
    }

    /// <summary>Equal bit patterns (NaN payloads and the sign of zero included).</summary>
    public static void AssertBits(string name, float[] got, float[] want, float[]? input = null)
    {
        Assert.Equal(want.Length, got.Length);
        for (var i = 0; i < want.Length; i++)
        {
            uint g = BitConverter.SingleToUInt32Bits(got[i]), w = BitConverter.SingleToUInt32Bits(want[i]);
            var from = input is null ? "" : $" from 0x{BitConverter.SingleToUInt32Bits(input[i]):X8}";
            Assert.True(g == w, $"{name}: [{i}]{from} is 0x{g:X8} ({got[i]:G9}), expected 0x{w:X8} ({want[i]:G9})");
        }
    }
}
