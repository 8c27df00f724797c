using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Detection;

/// <summary>
/// The whole detector against the PyTorch pipeline oracle, stage by stage (each stage checked on the engine's own
/// upstream values, so the first failing stage is the one at fault), and the batching contract.
/// </summary>
public class AnomalyDetectorTests(PipelineOracleFixture fx) : IClassFixture<PipelineOracleFixture>
{
    [Fact]
    public void CpuMatchesOracleAtEveryStage() => MatchesOracle(TestBackends.Cpu());

    [Fact]
    public void EmulatedCudaMatchesOracle() => MatchesOracle(TestBackends.Emulated());

    [Fact]
    public void RealCudaMatchesOracle()
    {
        var (gpu, reason) = TestBackends.RealGpu();
        if (gpu is null) Assert.Skip(reason);
        MatchesOracle(gpu);
    }

    private void MatchesOracle(IBackend backend)
    {
        var stages = new Dictionary<string, float[]>();
        var options = new DetectorOptions
        {
            NoiseSource = fx.Noise(),
            Inspect = (i, stage, t) => stages[$"{i}.{stage}"] = Download(backend, t),
        };
        using var detector = AnomalyDetector.Create(backend, fx.ClipPath, fx.HeadPath, options);
        Assert.Equal([1, 2, 3, 4], detector.TapLayers);
        var results = detector.Detect(fx.Images[..2], PipelineOracleFixture.Category);
        for (var i = 0; i < 2; i++)
        {
            var name = $"{backend.Name} image {i}";
            // Observed max abs errors (seeds vary per run) are ~5x below each tolerance below, ~2x on the CUDA launchers.
            // fp32 towers against fp32 PyTorch (oneDNN GEMMs): only the summation order differs, over 4 blocks of width
            // 64 with O(1) activations (observed ≤ 5e-6); PIL-exact preprocessing feeds both the same pixels.
            Close($"{name} g", stages[$"{i}.g"], $"{i}.g", 2e-5, 1e-5);
            var taps = fx.Debug.ReadFloats($"{i}.taps");
            for (var j = 0; j < 4; j++)
                TensorAssert.Close($"{name} tap{j + 1}", stages[$"{i}.tap{j + 1}"], taps.AsSpan(j * taps.Length / 4, taps.Length / 4), 3e-5, 1e-5);
            // Ten fp32 flow steps against float64, fed the g above (observed ≤ 3e-6 on O(1) values).
            Close($"{name} prompt_blocks", stages[$"{i}.prompt_blocks"], $"{i}.prompt_blocks", 3e-5, 1e-5);
            // Unit vectors out of one 768-wide fp32 text block (observed ≤ 3e-7).
            Close($"{name} text", stages[$"{i}.text"], $"{i}.text", 3e-6, 0);
            // Probabilities: sigmoids of exp(tau)≈16-scaled cosine differences carrying the text error (observed ≤ 1e-7).
            Assert.InRange(Math.Abs(results[i].PImg - fx.Debug.ReadFloats($"{i}.p_img")[0]), 0, 1e-6);
            Close($"{name} map", results[i].Map, $"{i}.map", 3e-6, 0);
            Assert.InRange(Math.Abs(results[i].SMap - fx.Debug.ReadFloats($"{i}.s_map")[0]), 0, 1e-6);
            Assert.Equal(20, results[i].TopK);
        }
    }

    [Fact]
    public void BatchOfThreeEqualsThreeSinglesBitwise()
    {
        using var batched = AnomalyDetector.Create(TestBackends.Cpu(), fx.ClipPath, fx.HeadPath, new DetectorOptions { Seed = 7 });
        using var single = AnomalyDetector.Create(TestBackends.Cpu(), fx.ClipPath, fx.HeadPath, new DetectorOptions { Seed = 7 });
        var all = batched.Detect(fx.Images, "bottle");
        for (var i = 0; i < 3; i++)
        {
            var one = single.Detect(fx.Images[i], "bottle");
            Assert.Equal(one.PImg, all[i].PImg);
            TensorAssert.BitwiseEqual($"map {i}", all[i].Map, one.Map);
            TensorAssert.BitwiseEqual($"blurred at image size {i}", all[i].BlurredAtImageSize, one.BlurredAtImageSize);
        }
        // Different images get different context samples and maps.
        Assert.NotEqual(all[0].PImg, all[1].PImg);
    }

    [Fact]
    public void ResetSampleCacheDrawsNewStateSamples()
    {
        using var detector = AnomalyDetector.Create(TestBackends.Cpu(), fx.ClipPath, fx.HeadPath, new DetectorOptions { Seed = 7, TopK = 5 });
        using var twin = AnomalyDetector.Create(TestBackends.Cpu(), fx.ClipPath, fx.HeadPath, new DetectorOptions { Seed = 7, TopK = 5 });
        var first = detector.Detect(fx.Images[0], "bottle");
        Assert.Equal(5, first.TopK);
        Assert.Equal((40, 50), (first.ImageHeight, first.ImageWidth));
        Assert.Equal(40 * 50, first.BlurredAtImageSize.Length);
        twin.Detect(fx.Images[0], "bottle");
        detector.ResetSampleCache();
        // Same stream position; only the reset differs, so only the state samples can make the maps differ.
        var afterReset = detector.Detect(fx.Images[1], "bottle");
        var cached = twin.Detect(fx.Images[1], "bottle");
        Assert.NotEqual(afterReset.PImg, cached.PImg);
    }

    [Fact]
    public void HeadForAnotherBackboneIsRejectedNamingBothFiles()
    {
        var head = new Engine.Model.Head.HeadConfig { VisionWidth = 1024 };
        var clip = new Engine.Model.ClipConfig { Vision = new Engine.Model.VisionConfig { Width = 64, Layers = 4 } };
        var e = Assert.Throws<InvalidDataException>(() => HeadFile.CheckAgainst(head, clip, "h.safetensors", "c.safetensors"));
        Assert.Contains("h.safetensors", e.Message);
        Assert.Contains("c.safetensors", e.Message);
        Assert.Contains("1024", e.Message);
        Assert.Equal([6, 12, 18, 24], HeadFile.TapLayers(24, 4));
    }

    [Theory]
    [InlineData(80, "longer than the context length")]  // "X" + 80 words: more than 77 tokens before any splicing
    [InlineData(70, "after splicing 10 vectors")]       // 73 tokens fit in 77, but the 10 prompt vectors push EOT (71) to 80
    public void AClassNameThatOverflowsTheContextIsAClearError(int words, string expected)
    {
        using var detector = AnomalyDetector.Create(TestBackends.Cpu(), fx.ClipPath, fx.HeadPath, new DetectorOptions { Seed = 7 });
        var name = string.Join(' ', Enumerable.Repeat("bottle", words));
        var e = Assert.Throws<ArgumentException>(() => detector.Detect(fx.Images[0], name));
        Assert.Contains(expected, e.Message);
    }

    private void Close(string name, float[] actual, string oracle, double atol, double rtol) =>
        TensorAssert.Close(name, actual, fx.Debug.ReadFloats(oracle), atol, rtol);

    private static float[] Download(IBackend backend, Tensor t)
    {
        var host = new float[t.Length];
        backend.Download(t, host);
        return host;
    }
}
