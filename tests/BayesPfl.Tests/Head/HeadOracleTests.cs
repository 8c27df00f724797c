using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Head;

/// <summary>One run of tests/reference/bayes_head.py (full 768-d head, B=3, R=10, K=10; vision width 64, grid 5).</summary>
public class HeadOracleFixture : IDisposable
{
    public HeadOracleFixture()
        : this(new HeadConfig { VisionWidth = 64 }, 5, 33)
    {
    }

    protected HeadOracleFixture(HeadConfig config, int grid, int side)
    {
        Config = config;
        Grid = grid;
        Side = side;
        Debug = Oracle.Run("bayes_head.py", "--vision-width", config.VisionWidth.ToString(), "--grid", grid.ToString(), "--side", side.ToString());
        WeightsFile = SafeTensorsFile.Open(Debug.Path[..^".safetensors".Length] + ".weights.safetensors");
    }

    public HeadConfig Config { get; }

    public int Grid { get; }

    public int Side { get; }

    public SafeTensorsFile Debug { get; }

    public SafeTensorsFile WeightsFile { get; }

    public const int Samples = 10;

    public void Dispose()
    {
        Debug.Dispose();
        WeightsFile.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// Every named stage of the head against the float64 oracle, on the CPU backend and on the real CUDA launchers
/// over the kernel emulator. Each stage starts from the oracle's inputs (g, taps, text, eps), so a failure
/// names the stage at fault.
/// </summary>
public class HeadOracleTests(HeadOracleFixture fx) : IClassFixture<HeadOracleFixture>
{
    private Tensor Input(IBackend be, string name) => Input(fx, be, name);

    private static Tensor Input(HeadOracleFixture fx, IBackend be, string name) =>
        Put(be, name, fx.Debug.ReadFloats(name), fx.Debug.Entry(name).Shape);

    private void Expect(IBackend be, string name, Tensor actual, double atol, double rtol) => Expect(fx, be, name, actual, atol, rtol);

    private static void Expect(HeadOracleFixture fx, IBackend be, string name, Tensor actual, double atol, double rtol, string? oracleName = null)
    {
        var expected = fx.Debug.ReadFloats(oracleName ?? name);
        TensorAssert.Close($"{be.Name} {name}", ToDouble(Get(be, actual)), ToDouble(expected), atol, rtol);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("emu")]
    [InlineData("gpu")]
    public void FlowsAndPromptBlocks(string backend)
    {
        using var be = Backend(backend);
        using var w = HeadWeights.Load(be, fx.WeightsFile, fx.Config);
        using var g = Input(be, "g");
        using var sampler = new PromptSampler(be, w, HeadOracleFixture.Samples, seed: 1);
        sampler.Draw(g, fx.Debug.ReadFloats("eps"));
        foreach (var (name, s) in new[] { ("context", sampler.Context), ("PFL_normal", sampler.Normal!), ("PFL_abnormal", sampler.Abnormal!) })
        {
            // fp32 GEMMs over 768/512-long dot products against float64: ~1e-6 relative per output, O(1) values.
            Expect(be, $"{name}.mu", s.Mu, atol: 2e-5, rtol: 1e-4);
            Expect(be, $"{name}.v", s.V, atol: 2e-5, rtol: 1e-4);
            Expect(be, $"{name}.z0", s.Z0, atol: 5e-5, rtol: 1e-4);
            // Ten sequential steps, each a 768-long dot product feeding tanh: errors compound mildly.
            Expect(be, $"{name}.a", s.A, atol: 2e-4, rtol: 1e-3);
            Expect(be, $"{name}.zK", s.ZK, atol: 2e-4, rtol: 1e-3);
            Expect(be, $"{name}.logdet", s.LogDet, atol: 1e-3, rtol: 1e-3);
        }
        using var blocks = sampler.PromptBlocks();
        // Sums of two values carrying the zK error above.
        Expect(be, "prompt_blocks", blocks, atol: 2e-4, rtol: 1e-3);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("emu")]
    [InlineData("gpu")]
    public void ImageBranch(string backend)
    {
        using var be = Backend(backend);
        using var w = HeadWeights.Load(be, fx.WeightsFile, fx.Config);
        using var g = Input(be, "g");
        using var text = Input(be, "text");
        using var allTaps = Input(be, "taps");
        var taps = Taps(allTaps);
        var branch = new ImageBranch(be, w);
        using var fuse = be.Allocate(new Shape(1, w.Config.Embed), "fuse");
        using var cos = be.Allocate(new Shape(1, text.Shape[0]), "cos");
        using var pImg = be.Allocate(new Shape(1, 1), "p_img");
        branch.Fuse(fuse, taps);
        branch.Classify(cos, pImg, text, g, fuse);
        // fp32 GEMMs (4096- and 512-long sums) and a 25-way softmax against float64.
        Expect(be, "fuse", fuse, atol: 2e-5, rtol: 1e-4);
        // Cosines of unit vectors: |cos| ≤ 1, the error is that of the normalised 768-d inputs.
        Expect(be, "cos", cos, atol: 2e-6, rtol: 0);
        var logits = Get(be, cos).Select(c => MathF.Exp(w.TauImage) * c).ToArray();
        // exp(tau) ≈ 15.8 scales the cosine error.
        TensorAssert.Close($"{be.Name} logits", ToDouble(logits), ToDouble(fx.Debug.ReadFloats("logits")), atol: 4e-5, rtol: 0);
        Expect(be, "p_img", pImg, atol: 1e-5, rtol: 0);

        // Stage 1 ('epoch_post_*_1' checkpoints): v = normalise(g); same bounds as above.
        using var stage1 = HeadWeights.Load(be, fx.WeightsFile, fx.Config with { Stage2 = false });
        new ImageBranch(be, stage1).Classify(cos, pImg, text, g, fuse);
        Expect(be, "stage1.cos", cos, atol: 2e-6, rtol: 0);
        Expect(be, "stage1.p_img", pImg, atol: 1e-5, rtol: 0);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("emu")]
    [InlineData("gpu")]
    public void RcaAndMaps(string backend) => PixelBranchMatchesOracle(fx, backend);

    internal static void PixelBranchMatchesOracle(HeadOracleFixture fx, string backend)
    {
        using var be = Backend(backend);
        using var w = HeadWeights.Load(be, fx.WeightsFile, fx.Config);
        using var text = Input(fx, be, "text");
        using var allTaps = Input(fx, be, "taps");
        using var o = PixelOutputs.Allocate(be, w.Config, text.Shape[0], fx.Grid, fx.Side);
        new PixelBranch(be, w).Forward(o, Taps(allTaps), text);
        var m2 = text.Shape[0];
        var plane = m2 * fx.Grid * fx.Grid;
        var logits = Get(be, o.Logits);
        for (var j = 0; j < w.Config.Taps; j++)
        {
            // Unit rows from fp32 GEMMs and a 25-key softmax: ~1e-7 per element, with margin.
            Expect(fx, be, $"rca.{j}.keys", o.Keys[j], atol: 2e-6, rtol: 0);
            Expect(fx, be, $"rca.{j}.text", o.TPrime[j], atol: 2e-6, rtol: 0);
            // Cosines of the two unit vectors above.
            TensorAssert.Close($"{be.Name} pixel.logits.{j}", ToDouble(logits.AsSpan(j * plane, plane).ToArray()),
                ToDouble(fx.Debug.ReadFloats($"pixel.logits.{j}")), atol: 4e-6, rtol: 0);
        }
        // Mean of sigmoids of exp(tau_pix)·Δcos (≈ 14.3 × the logit error), slope ≤ 1/4.
        Expect(fx, be, "pixel.map", o.Map, atol: 2e-5, rtol: 0);
    }

    private static Tensor[] Taps(Tensor all)
    {
        int taps = all.Shape[0], p = all.Shape[1], cv = all.Shape[2];
        return [.. Enumerable.Range(0, taps).Select(j => all.View((long)j * p * cv, new Shape(p, cv), $"tap{j}"))];
    }
}

/// <summary>The oracle at the model's vision shapes: width 1024, 37x37 grid, 518x518 map.</summary>
public sealed class FullSizeHeadFixture() : HeadOracleFixture(new HeadConfig(), 37, 518);

/// <summary>RCA and maps at real size (1369 keys, 120 full-size sigmoid maps): the CPU and, where present, the GPU.</summary>
public class FullSizeHeadTests(FullSizeHeadFixture fx) : IClassFixture<FullSizeHeadFixture>
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void RcaAndMaps(string backend) => HeadOracleTests.PixelBranchMatchesOracle(fx, backend);
}

/// <summary>The two-call head API end to end against the oracle (noise injected; text from the oracle).</summary>
public class BayesHeadTests(HeadOracleFixture fx) : IClassFixture<HeadOracleFixture>
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("emu")]
    public void PromptsThenScore(string backend)
    {
        using var be = Backend(backend);
        using var w = HeadWeights.Load(be, fx.WeightsFile, fx.Config);
        using var g = Put(be, "g", fx.Debug.ReadFloats("g"), fx.Debug.Entry("g").Shape);
        using var text = Put(be, "text", fx.Debug.ReadFloats("text"), fx.Debug.Entry("text").Shape);
        using var allTaps = Put(be, "taps", fx.Debug.ReadFloats("taps"), fx.Debug.Entry("taps").Shape);
        var p = allTaps.Shape[1];
        var taps = Enumerable.Range(0, allTaps.Shape[0]).Select(j => allTaps.View((long)j * p * allTaps.Shape[2], new Shape(p, allTaps.Shape[2]), $"tap{j}")).ToArray();
        using var head = new BayesHead(be, w, samples: 10);
        using var blocks = head.Prompts(g, fx.Debug.ReadFloats("eps"));
        using var pImg = be.Allocate(new Shape(1, 1), "p_img");
        using var map = be.Allocate(new Shape(fx.Side, fx.Side), "map");
        head.Score(pImg, map, g, taps, text);
        // Bounds as in HeadOracleTests (same computations, chained through the public API).
        TensorAssert.Close("prompt_blocks", ToDouble(Get(be, blocks)), ToDouble(fx.Debug.ReadFloats("prompt_blocks")), 2e-4, 1e-3);
        TensorAssert.Close("p_img", ToDouble(Get(be, pImg)), ToDouble(fx.Debug.ReadFloats("p_img")), 1e-5, 0);
        TensorAssert.Close("map", ToDouble(Get(be, map)), ToDouble(fx.Debug.ReadFloats("pixel.map")), 2e-5, 0);
    }
}
