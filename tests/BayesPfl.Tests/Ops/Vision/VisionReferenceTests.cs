using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Ops.Attention.DeviceKit;

namespace BayesPfl.Tests.Ops.Vision;

/// <summary>The CPU references of PatchEmbed and UpsampleBilinear against PyTorch and finite differences.</summary>
public class VisionReferenceTests
{
    [Theory]
    [InlineData(2, 3, 28, 42, 5, 14)]
    [InlineData(1, 3, 14, 28, 7, 7)]
    [InlineData(1, 2, 42, 70, 6, 14)]
    public void PatchEmbedMatchesConv2d(int batch, int cin, int height, int width, int channels, int patch)
    {
        using var f = Oracle.Run("ops_vision.py", "--op", "patch", "--batch", $"{batch}", "--cin", $"{cin}", "--height", $"{height}",
            "--width", $"{width}", "--channels", $"{channels}", "--patch", $"{patch}");
        using var cpu = TestBackends.Cpu();
        var image = Put(cpu, "image", f.ReadFloats("image"), batch, cin, height, width);
        var w = Put(cpu, "w", f.ReadFloats("w"), channels, cin, patch, patch);
        var y = Poisoned(cpu, "y", batch, height / patch * (width / patch), channels);
        cpu.PatchEmbed(y, image, w);
        // Each output is a 588-term dot product of N(0,1) pixels with weights of scale 1/sqrt(588): y ~ N(0,1)
        // and float32 accumulation error ~ sqrt(588)·6e-8 ≈ 1.5e-6; 1e-5 is a 6x margin.
        TensorAssert.Close("y", Get(y), f.ReadFloats("y"), 1e-5, 1e-5);
        // The generic reference in double (the plain loops the fast GEMM path replaces): float64 end to end,
        // so the only difference is ReadFloats rounding the oracle's float64 y to float32 (2^-24 relative).
        var y64 = new double[y.Length];
        var n = new PatchEmbedReference.Dims(batch, cin, height, width, patch, channels);
        PatchEmbedReference.Forward<double>(y64, ToDouble(f.ReadFloats("image")), ToDouble(f.ReadFloats("w")), n);
        TensorAssert.Close("y (double reference)", y64, ToDouble(f.ReadFloats("y")), 1e-12, 1.2e-7);
    }

    [Theory]
    [InlineData(2, 4, 5, 9, 13)]
    [InlineData(2, 7, 7, 33, 33)]
    [InlineData(1, 37, 37, 518, 518)]
    [InlineData(3, 1, 5, 5, 1)]
    [InlineData(1, 5, 1, 1, 5)]
    [InlineData(2, 9, 6, 4, 3)]  // downsampling
    public void UpsampleMatchesInterpolate(int maps, int h, int w, int outH, int outW)
    {
        using var f = Oracle.Run("ops_vision.py", "--op", "upsample", "--batch", $"{maps}", "--height", $"{h}", "--width", $"{w}",
            "--out-height", $"{outH}", "--out-width", $"{outW}");
        using var cpu = TestBackends.Cpu();
        var x = Put(cpu, "x", f.ReadFloats("x"), maps, h, w);
        var dy = Put(cpu, "dy", f.ReadFloats("dy"), maps, outH, outW);
        var y = Poisoned(cpu, "y", maps, outH, outW);
        var dx = Poisoned(cpu, "dx", maps, h, w);
        cpu.UpsampleBilinear(y, x);
        cpu.UpsampleBilinearBackward(dx, dy);
        // Against float64: the dominant float32 error is the source coordinate src = scale·dst itself (as in
        // PyTorch's float32 kernel): |Δsrc| <= 2·2^-24·(in−1) ≈ 4.3e-6 for in = 37, which moves y by
        // Δλ·|x1 − x0| <= 4.3e-6·8 ≈ 3.5e-5 at N(0,1) extremes. dx sums that shift over up to ~15 dy terms per
        // axis (random signs, ~4x growth), so 2e-4. The NMSE bound (observed ~4e-12) catches any systematic error.
        TensorAssert.Close("y", Get(y), f.ReadFloats("y"), 5e-5, 1e-6, 1e-9);
        TensorAssert.Close("dx", Get(dx), f.ReadFloats("dx"), 2e-4, 1e-5, 1e-9);
    }

    [Theory]
    [InlineData(3, 4, 7, 10)]
    [InlineData(1, 5, 5, 1)]
    [InlineData(5, 3, 2, 2)]
    public void UpsampleBackwardMatchesFiniteDifferences(int h, int w, int outH, int outW)
    {
        var n = new UpsampleReference.Dims(2, h, w, outH, outW);
        var x = FiniteDiff.Random(2 * h * w, 1);
        var weight = FiniteDiff.Random(2 * outH * outW, 2);
        var y = new double[weight.Length];
        var numeric = FiniteDiff.Gradient(x, () =>
        {
            UpsampleReference.Forward<double>(y, x, n);
            return FiniteDiff.Dot(y, weight);
        });
        var dx = new double[x.Length];
        UpsampleReference.Backward<double>(dx, weight, n);
        // The op is linear, so central differences are exact up to double rounding (~1e-10 here).
        TensorAssert.Close("dx", dx, numeric, 1e-8, 1e-8);
    }

    private static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);
}
