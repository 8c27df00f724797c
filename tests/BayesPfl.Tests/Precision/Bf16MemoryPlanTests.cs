using BayesPfl.Engine.Backends.Planning;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Tensors;
using Xunit;

namespace BayesPfl.Tests.Precision;

/// <summary>
/// What bf16 saves at the real size (ViT-L/14 at 518 px), counted by the PlanningBackend (every allocation, nothing
/// computed): the GEMM weights take half their fp32 bytes, every other weight the same, and the image tower's
/// activation workspace does not eat the saving.
/// </summary>
public class Bf16MemoryPlanTests(ITestOutputHelper output)
{
    private const double GiB = 1 << 30;

    [Fact]
    public void RealSizeBf16WeightsHalveTheGemmPartAndKeepTheRest()
    {
        var config = ClipConfig.VitL14At518;
        var (fp32, fp32Forward) = Plan(config, DType.F32);
        var (bf16, bf16Forward) = Plan(config, DType.BF16);
        var gemm = GemmParameters(config);
        output.WriteLine($"weights fp32 {fp32 / GiB:F3} GiB, bf16 {bf16 / GiB:F3} GiB (GEMM part {4 * gemm / GiB:F3} → {2 * gemm / GiB:F3}); " +
                         $"vision forward workspace at batch 1: fp32 {fp32Forward / GiB:F3} GiB, bf16 {bf16Forward / GiB:F3} GiB");
        // Exact: the GEMM matrices go from 4 to 2 bytes per value, and nothing else changes size.
        Assert.Equal(2 * gemm, fp32 - bf16);
        // ViT-L/14's GEMM matrices are ~388M of its ~428M values (the rest is mostly the 49408x768 token table), so the
        // whole CLIP file on the device drops to about 55% (1.59 → 0.87 GiB).
        Assert.InRange((double)bf16 / fp32, 0.53, 0.57);
        // The forward workspace barely changes: q, k, v at 2 bytes and the bf16 copy of ln_1 save 4 bytes per row element,
        // the CUDA backend's bf16 copy of a Linear's F32 input (up to the c_fc output, F = 4C wide) adds 8. The saving
        // on the weights must survive it: weights plus the batch-1 forward peak drop by at least 90% of 2 bytes a GEMM value.
        Assert.True(fp32 + fp32Forward - (bf16 + bf16Forward) > 0.9 * 2 * gemm,
            $"bf16 weights + forward {bf16 + bf16Forward} B against fp32's {fp32 + fp32Forward} B: less than 90% of the GEMM saving {2 * gemm} B");
    }

    /// <summary>Bytes of the weights, and the peak above them during a batch-1 vision forward.</summary>
    private static (long Weights, long Forward) Plan(ClipConfig config, DType gemmType)
    {
        var plan = new PlanningBackend();
        using var weights = ClipWeights.Uninitialized(plan, config, gemmType: gemmType);
        var bytes = plan.LiveBytes;
        using (var vision = new VisionTower(plan, weights))
        using (var images = plan.Allocate(new Shape(1, 3, config.Vision.ImageSize, config.Vision.ImageSize), "images"))
        using (vision.Encode(images))
        {
        }
        return (bytes, plan.PeakBytes - bytes);
    }

    /// <summary>Values of the matrices Linear multiplies by: per block in_proj (3C²), out_proj (C²), c_fc and c_proj (C·F each), and the two projections.</summary>
    private static long GemmParameters(ClipConfig c)
    {
        static long Block(int width, int mlp) => 4L * width * width + 2L * width * mlp;
        return c.Vision.Layers * Block(c.Vision.Width, c.Vision.MlpWidth) + c.Text.Layers * Block(c.Text.Width, c.Text.MlpWidth)
            + (long)c.EmbedDim * (c.Vision.Width + c.Text.Width);
    }
}
