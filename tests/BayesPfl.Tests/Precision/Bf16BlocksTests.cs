using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Precision;

/// <summary>
/// The towers' weights and residual blocks in bf16 against fp32 on the CPU reference, at RandomClip.Tiny size (CLIP's
/// init scales, so activations have a real tower's magnitudes): which tensors are BF16, each layer's error on its own
/// (both precisions fed the same fp32 input), and the guards that keep bf16 out of training.
/// </summary>
public class Bf16BlocksTests(TinyDetectorFiles fx, ITestOutputHelper output) : IClassFixture<TinyDetectorFiles>
{
    [Fact]
    public void GemmWeightsAreRoundedBf16AndEverythingElseStaysF32()
    {
        using var file = SafeTensorsFile.Open(fx.ClipPath);
        using var backend = TestBackends.Cpu();
        using var w = ClipWeights.Load(file, backend, gemmType: DType.BF16);
        Assert.Equal(DType.BF16, w.GemmType);
        foreach (var b in w.Vision.Blocks.Concat(w.Text.Blocks))
        {
            Assert.All([b.InProjWeight, b.QWeight, b.KWeight, b.VWeight, b.OutProjWeight, b.FcWeight, b.ProjWeight], t => Assert.Equal(DType.BF16, t.DType));
            Assert.All([b.Ln1Weight, b.Ln1Bias, b.Ln2Weight, b.Ln2Bias, b.InProjBias, b.QBias, b.OutProjBias, b.FcBias, b.ProjBias], t => Assert.Equal(DType.F32, t.DType));
        }
        Assert.All([w.Vision.ProjT, w.Text.ProjT], t => Assert.Equal(DType.BF16, t.DType));
        Assert.All([w.Vision.Conv1, w.Vision.ClassEmbedding, w.Vision.PositionalEmbedding, w.Vision.LnPreWeight, w.Vision.LnPostBias,
            w.Text.TokenEmbedding, w.Text.PositionalEmbedding, w.Text.LnFinalWeight], t => Assert.Equal(DType.F32, t.DType));

        // The K rows of block 0's in_proj hold the file's values rounded to nearest even (the view addresses the right rows).
        var block = w.Vision.Blocks[0];
        var c = TinyDetectorFiles.Config.Vision.Width;
        var k = new float[block.KWeight.Length];
        backend.Download(block.KWeight, k);
        var source = file.ReadFloats(ClipTensorNames.VisualBlock(0) + ClipTensorNames.Block.InProjWeight).AsSpan(c * c, c * c).ToArray();
        var rounded = source.Select(v => Bf16.ToFloat(Bf16.FromFloat(v))).ToArray();
        TensorAssert.BitwiseEqual("vision block 0 k rows", k, rounded);
        Assert.NotEqual(source, k);
    }

    [Theory]
    [InlineData("vision", 65, false)]  // the tiny tower's 8x8 grid + CLS
    [InlineData("text", 7, true)]      // a short causal prompt
    public void EachLayerInBf16IsCloseToFp32ButNotEqual(string tower, int tokens, bool causal)
    {
        using var file = SafeTensorsFile.Open(fx.ClipPath);
        using var backend = TestBackends.Cpu();
        using var w32 = ClipWeights.Load(file, backend);
        using var w16 = ClipWeights.Load(file, backend, gemmType: DType.BF16);
        var cfg = w32.Config;
        var (width, mlp, heads) = tower == "vision" ? (cfg.Vision.Width, cfg.Vision.MlpWidth, cfg.Vision.Heads) : (cfg.Text.Width, cfg.Text.MlpWidth, cfg.Text.Heads);
        var (blocks32, blocks16) = tower == "vision" ? (w32.Vision.Blocks, w16.Vision.Blocks) : (w32.Text.Blocks, w16.Text.Blocks);
        using var run32 = new ResidualBlocks(backend, width, mlp, heads, w32.Gelu, tower + "32");
        using var run16 = new ResidualBlocks(backend, width, mlp, heads, w16.Gelu, tower + "16", DType.BF16);
        const int batch = 2;
        var shape = new Shape(batch, tokens, width);
        var x = new float[shape.Length];
        new GaussianNoise(3).Fill(x);
        for (var l = 0; l < blocks32.Count; l++)
        {
            var y32 = Block(backend, run32, blocks32[l], shape, x, causal);
            var y16 = Block(backend, run16, blocks16[l], shape, x, causal);
            TensorAssert.BitwiseEqual($"{tower} layer {l} bf16 rerun", y16, Block(backend, run16, blocks16[l], shape, x, causal));
            var diff = Bf16DetectorTests.MaxAbsDiff(y32, y16);
            var scale = y32.Max(MathF.Abs);
            output.WriteLine($"{tower} layer {l}: max |Δ| {diff:E3} on max |y| {scale:F3}");
            Assert.True(diff > 0, $"{tower} layer {l}: bf16 equals fp32 bitwise");
            // bf16 keeps 8 significant bits: each rounding (ln_1/ln_2 output, weights, q/k/v, P, o, the GELU output) is off
            // by at most 2^-9 relative. The longest path of each half chains four of them (x, W, q/k/v or the activation,
            // P or W_proj) and both halves add to the stream, so 8·2^-9 ≈ 1.6% of the largest activation bounds a layer's
            // error when every rounding errs the same way; observed ≤ 0.2% (text 7.2e-3 on 3.6, vision 5.2e-3 on 4.4).
            // A wrong row view or a missed cast errs by O(max |y|).
            TensorAssert.Close($"{tower} layer {l} bf16", y16, y32, 8 * Math.Pow(2, -9) * scale, 0);
            x = y32;
        }
    }

    [Fact]
    public void TrainingRefusesBf16WeightsAndBlocksRefuseTheOtherPrecision()
    {
        using var file = SafeTensorsFile.Open(fx.ClipPath);
        using var backend = TestBackends.Cpu();
        using var w16 = ClipWeights.Load(file, backend, gemmType: DType.BF16);
        var e = Assert.Throws<ArgumentException>(() => new TextTowerTraining(backend, w16));
        Assert.Contains("fp32 only", e.Message);

        var cfg = w16.Config.Vision;
        using var fp32Blocks = new ResidualBlocks(backend, cfg.Width, cfg.MlpWidth, cfg.Heads, w16.Gelu, "vision");
        using var x = backend.Allocate(new Shape(1, 3, cfg.Width), "x");
        var mismatch = Assert.Throws<ArgumentException>(() => fp32Blocks.Run(fp32Blocks.Prepare(1, 3), x, w16.Vision.Blocks[0], causal: false));
        Assert.Contains("BF16", mismatch.Message);
    }

    /// <summary>One block on a copy of x (the blocks run in place).</summary>
    private static float[] Block(IBackend backend, ResidualBlocks blocks, BlockWeights w, Shape shape, float[] x, bool causal)
    {
        using var t = backend.Allocate(shape, "x");
        backend.Upload(t, x);
        blocks.Run(blocks.Prepare(shape[0], shape[1]), t, w, causal);
        var y = new float[x.Length];
        backend.Download(t, y);
        return y;
    }
}
