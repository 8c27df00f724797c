using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Metrics;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Precision;

/// <summary>
/// The bf16 precision mode of the whole detector on the CPU backend (the reference emulation: values rounded to bf16,
/// fp32 accumulation), against the fp32 detector on the same pixels and the same seeded flow samples.
/// </summary>
public class Bf16DetectorTests(TinyDetectorFiles fx, ITestOutputHelper output) : IClassFixture<TinyDetectorFiles>
{
    [Fact]
    public void Bf16MapsAndScoresAreCloseToFp32ButNotEqual()
    {
        var pixels = TinyDetectorFiles.Pixels(3, seed: 21);
        var fp32 = Run(DetectorPrecision.Fp32, TestBackends.Cpu(), pixels);
        var bf16 = Run(DetectorPrecision.Bf16, TestBackends.Cpu(), pixels);
        double map = 0, pImg = 0, sMap = 0;
        for (var i = 0; i < pixels.Length / (3 * 112 * 112); i++)
        {
            TensorAssert.AllFinite($"bf16 map {i}", bf16[i].Map);
            map = Math.Max(map, MaxAbsDiff(fp32[i].Map, bf16[i].Map));
            pImg = Math.Max(pImg, Math.Abs(fp32[i].PImg - bf16[i].PImg));
            sMap = Math.Max(sMap, Math.Abs(TopKMean.Compute(fp32[i].Map, 20) - TopKMean.Compute(bf16[i].Map, 20)));
        }
        output.WriteLine($"bf16 vs fp32, 3 images: max |Δmap| {map:E3}, max |Δp_img| {pImg:E3}, max |Δs_map| {sMap:E3}");
        // The mode is on: rounding GEMM operands to 8 significant bits must move the maps.
        Assert.True(map > 0 && pImg > 0, $"bf16 gave the fp32 results (max |Δmap| {map}, |Δp_img| {pImg}): the mode did not run");
        Assert.InRange(map, 0, MapBound);
        Assert.InRange(pImg, 0, ScoreBound);
        Assert.InRange(sMap, 0, MapBound);
    }

    [Fact]
    public void Bf16RunsAreBitwiseDeterministic()
    {
        var pixels = TinyDetectorFiles.Pixels(2, seed: 22);
        var a = Run(DetectorPrecision.Bf16, TestBackends.Cpu(), pixels);
        var b = Run(DetectorPrecision.Bf16, TestBackends.Cpu(), pixels);
        for (var i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i].PImg, b[i].PImg);
            TensorAssert.BitwiseEqual($"bf16 map {i}", a[i].Map, b[i].Map);
        }
    }

    /// <summary>
    /// Bounds on |Δ| of map values and p_img (both probabilities) between bf16 and fp32 on the tiny CLIP. Each layer moves
    /// the stream by ≤ 0.25% of its largest activation (Bf16BlocksTests); over four vision and two text layers the head
    /// sees features off by ~1% at worst, and its cosine-similarity softmaxes turn that into probabilities off by about
    /// 1e-3 — observed max |Δmap| 1.1e-3, |Δp_img| 1.6e-3, |Δs_map| 4.7e-4 over these three images (the bench's other
    /// random CLIP: |Δmap| 1.0e-3, |Δp_img| 1.3e-3). 5e-3 leaves a 3x margin for other seeds and inputs.
    /// </summary>
    internal const double MapBound = 5e-3, ScoreBound = 5e-3;

    private (double PImg, float[] Map)[] Run(DetectorPrecision precision, IBackend backend, float[] pixels)
    {
        using var detector = AnomalyDetector.Create(backend, fx.ClipPath, fx.HeadPath, new DetectorOptions { Precision = precision, Seed = 5 });
        Assert.Equal(precision, detector.Precision);
        return [.. detector.Run(pixels, TinyDetectorFiles.Ids)];
    }

    internal static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double m = 0;
        for (var i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs((double)a[i] - b[i]));
        return m;
    }
}
