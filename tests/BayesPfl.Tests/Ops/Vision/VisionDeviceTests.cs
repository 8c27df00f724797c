using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Ops.Attention.DeviceKit;

namespace BayesPfl.Tests.Ops.Vision;

/// <summary>PatchEmbed (im2col + GEMM) and bilinear up-sampling on CUDA against the CPU reference.</summary>
public class VisionDeviceTests
{
    // A fresh seed per run, named in every failure message.
    private static readonly int Seed = System.Random.Shared.Next();

    [Theory]
    [InlineData(1, 3, 14, 28, 5, 14)]
    [InlineData(2, 3, 42, 70, 7, 14)]
    [InlineData(1, 2, 14, 28, 3, 7)]
    public void EmulatedPatchEmbedMatchesReference(int batch, int cin, int height, int width, int channels, int patch)
    {
        using var gpu = TestBackends.Emulated();
        // Both sum the same cin·p² ≤ 588 products in float32, in different orders: error ~ sqrt(588)·6e-8·|terms|
        // with |terms| ≤ 1, so 1e-5.
        ComparePatchEmbed(gpu, batch, cin, height, width, channels, patch, 1e-5);
    }

    [Fact]
    public void GpuPatchEmbedMatchesReferenceAtModelShape()
    {
        using var gpu = RealGpu();
        // 518 px image, ViT-L/14 patch embedding; same bound as on the emulator (cuBLAS fp32, no TF32).
        ComparePatchEmbed(gpu, 1, 3, 518, 518, 1024, 14, 1e-5);
    }

    [Theory]
    [InlineData(1, 37, 37, 518, 518)]
    [InlineData(3, 7, 7, 33, 33)]
    [InlineData(2, 1, 1, 5, 5)]
    [InlineData(2, 5, 5, 1, 1)]
    [InlineData(1, 1, 5, 5, 1)]
    [InlineData(2, 9, 6, 4, 13)]
    public void EmulatedUpsampleMatchesReference(int maps, int h, int w, int outH, int outW)
    {
        using var gpu = TestBackends.Emulated();
        // Taps are computed with identical float32 arithmetic, so only FMA contraction differs in y (1e-6 of
        // |x| <= 1). The gather sums the forward's weights in another order than the reference's scatter:
        // up to ~225 terms of |w·dy| <= 1, rounding ~225·6e-8 ≈ 1.4e-5 worst case, so 2e-5.
        CompareUpsample(gpu, maps, h, w, outH, outW, 1e-6, 2e-5);
    }

    [Fact]
    public void GpuUpsampleMatchesReferenceAtModelShape()
    {
        using var gpu = RealGpu();
        // 120 similarity maps 37x37 → 518x518 (4 layers x 30 pairs); same bounds as on the emulator.
        CompareUpsample(gpu, 120, 37, 37, 518, 518, 1e-6, 2e-5);
    }

    private static void ComparePatchEmbed(CudaBackend gpu, int batch, int cin, int height, int width, int channels, int patch, double tol)
    {
        var image = Random((long)batch * cin * height * width, Seed);
        var w = Random((long)channels * cin * patch * patch, Seed + 1, 1f / MathF.Sqrt(cin * patch * patch));
        var patches = height / patch * (width / patch);
        float[] Run(IBackend be)
        {
            using Tensor x = Put(be, "image", image, batch, cin, height, width), tw = Put(be, "w", w, channels, cin, patch, patch),
                y = Poisoned(be, "y", batch, patches, channels);
            be.PatchEmbed(y, x, tw);
            AfterLaunch(be);
            return Get(y);
        }
        using var cpu = TestBackends.Cpu();
        var expected = Run(cpu);
        var actual = Run(gpu);
        TensorAssert.AllFinite($"y (seed {Seed})", actual);
        TensorAssert.Close($"y (seed {Seed})", actual, expected, tol, tol);
        TensorAssert.BitwiseEqual($"y (seed {Seed})", Run(gpu), actual);
    }

    private static void CompareUpsample(CudaBackend gpu, int maps, int h, int w, int outH, int outW, double yTol, double dxTol)
    {
        var x = Random((long)maps * h * w, Seed);
        var dy = Random((long)maps * outH * outW, Seed + 1);
        (float[] Y, float[] Dx) Run(IBackend be)
        {
            using Tensor tx = Put(be, "x", x, maps, h, w), tdy = Put(be, "dy", dy, maps, outH, outW),
                y = Poisoned(be, "y", maps, outH, outW), dx = Poisoned(be, "dx", maps, h, w);
            be.UpsampleBilinear(y, tx);
            AfterLaunch(be);
            be.UpsampleBilinearBackward(dx, tdy);
            AfterLaunch(be);
            return (Get(y), Get(dx));
        }
        using var cpu = TestBackends.Cpu();
        var expected = Run(cpu);
        var actual = Run(gpu);
        TensorAssert.AllFinite($"y (seed {Seed})", actual.Y);
        TensorAssert.AllFinite($"dx (seed {Seed})", actual.Dx);
        TensorAssert.Close($"y (seed {Seed})", actual.Y, expected.Y, yTol, yTol);
        TensorAssert.Close($"dx (seed {Seed})", actual.Dx, expected.Dx, dxTol, dxTol);
        var again = Run(gpu);
        TensorAssert.BitwiseEqual($"y (seed {Seed})", again.Y, actual.Y);
        TensorAssert.BitwiseEqual($"dx (seed {Seed})", again.Dx, actual.Dx);
    }
}
