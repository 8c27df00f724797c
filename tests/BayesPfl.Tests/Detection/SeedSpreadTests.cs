using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Metrics;
using BayesPfl.Engine.Text;
using BayesPfl.Tests.Infra;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace BayesPfl.Tests.Detection;

/// <summary>
/// Issue 4: with the detector's own Gaussian stream (not injected noise) the results of one fixed image over
/// different seeds must spread as much as PyTorch's over different torch seeds (pipeline_oracle.py
/// --spread-seeds), same weights and R. The streams cannot be matched value by value (spec 14.9), so only the
/// distributions are compared; this is what catches a wrong noise scale or sample count that the
/// injected-noise parity tests cannot see.
/// </summary>
public class SeedSpreadTests
{
    // K seeds per side. Each seed is a whole fresh detector (new context AND image-agnostic samples).
    private const int K = 12;

    // The oracle's torch seed is fixed like the engine's seeds (1000 + k): the bounds below are ~3.5-4.5 sigma of
    // two independent 12-draw samples, so a fresh oracle seed every run would fail ~1 run in 2000 by chance alone
    // (estimated: the sum of the four tails). The test's meaning is the comparison of the two spreads, which fixed
    // draws keep. This seed gives map-spread ratio 0.818, p_img ratio 1.61, geometric mean 1.15, RMS z 0.87.
    private const int OracleSeed = 20261129;

    [Fact]
    public void EngineSpreadOverSeedsMatchesOracle()
    {
        var image = WritePng(Repo.TempDir("seed-spread"));
        var category = PipelineOracleFixture.Category;
        var ids = ClipTokenizer.Default.Tokenize(ClassNames.Prompt(category));
        using var oracle = Oracle.Run("pipeline_oracle.py", OracleSeed, "--images", image, "--ids", string.Join(",", ids),
            "--topk", TopKMean.DefaultK(category).ToString(), "--spread-seeds", K.ToString());
        var oracleMaps = oracle.ReadFloats("spread.maps");
        var oracleP = oracle.ReadFloats("spread.p_img").Select(v => (double)v).ToArray();
        var pixels = oracleMaps.Length / K;

        var engineMaps = new float[K * pixels];
        var engineP = new double[K];
        for (var k = 0; k < K; k++)
        {
            using var detector = AnomalyDetector.Create(new CpuBackend(), oracle.Metadata["clip"], oracle.Metadata["head"],
                new DetectorOptions { Seed = (ulong)(1000 + k) });
            var (pImg, map) = detector.Run([Engine.Data.Images.ImageFile.LoadRgb(image)], category)[0];
            engineP[k] = pImg;
            map.CopyTo(engineMaps, k * pixels);
        }

        var (oMean, oStd) = PerPixel(oracleMaps, pixels);
        var (eMean, eStd) = PerPixel(engineMaps, pixels);
        double oSpread = oStd.Average(), eSpread = eStd.Average();
        double oPStd = Std(oracleP), ePStd = Std(engineP);
        // Mean maps: per-pixel Welch z of the difference of the two K-sample means; RMS over pixels.
        var zRms = Math.Sqrt(Enumerable.Range(0, pixels)
            .Select(i => Square(eMean[i] - oMean[i]) / ((Square(eStd[i]) + Square(oStd[i])) / K)).Average());
        var report = $"oracle --seed {OracleSeed}; map spread engine {eSpread:g4} oracle {oSpread:g4} (ratio {eSpread / oSpread:g3}); " +
                     $"p_img std engine {ePStd:g4} oracle {oPStd:g4} (ratio {ePStd / oPStd:g3}); mean-map RMS z {zRms:g3}";
        TestContext.Current.TestOutputHelper?.WriteLine(report);

        // Bounds. A std estimate from K draws has a relative standard error of 1/sqrt(2(K-1)); the log of the
        // ratio of two independent ones has sd ≈ sqrt(2)/sqrt(2(K-1)) ≈ 0.30 at K=12 for p_img. The pixel average
        // helps less than the pixel count suggests (one text embedding per seed moves every pixel). Measured at
        // K=8 over 8 oracle seeds: map-spread ratio 0.65..1.35, p_img ratio 0.42..1.28, their geometric mean
        // 0.70..1.09 (log sd ≈ 0.16, so ≈ 0.13 at K=12). R = 1 instead of 10 (engine Samples=1) gave geometric
        // means 3.7 and 2.2 at K=8. The bound 1.8 on the geometric mean is ≥ 3 sigma from both; sigma = v or
        // exp(0.5 h) in place of sqrt(v) would scale the spread by the variances themselves, further out. The
        // single ratios get looser bounds (≈ 3 sigma each) so that a failure says which one moved.
        var combined = Math.Sqrt(eSpread / oSpread * (ePStd / oPStd));
        Assert.True(combined is > 1 / 1.8 and < 1.8, $"spread ratio (geometric mean) {combined:g3}: " + report);
        Assert.True(eSpread / oSpread is > 1 / 2.2 and < 2.2, "per-pixel map spread: " + report);
        Assert.True(ePStd / oPStd is > 1 / 3.0 and < 3.0, "p_img spread: " + report);
        // Same expected map: the Welch z has ~22 degrees of freedom (variance ≈ 1.1 per pixel); correlated pixels
        // make the RMS as noisy as one z, so 4 is a ~4-sigma bound; a shifted mean (wrong mu) exceeds it.
        Assert.True(zRms < 4, "mean maps differ: " + report);
    }

    private static (double[] Mean, double[] Std) PerPixel(float[] maps, int pixels)
    {
        var mean = new double[pixels];
        var std = new double[pixels];
        for (var i = 0; i < pixels; i++)
        {
            var v = new double[K];
            for (var k = 0; k < K; k++) v[k] = maps[k * pixels + i];
            mean[i] = v.Average();
            std[i] = Std(v);
        }
        return (mean, std);
    }

    private static double Std(double[] v)
    {
        var m = v.Average();
        return Math.Sqrt(v.Sum(x => Square(x - m)) / (v.Length - 1));
    }

    private static double Square(double x) => x * x;

    private static string WritePng(string dir)
    {
        var rng = new Random(5);
        using var img = new Image<Rgb24>(50, 40);
        for (var y = 0; y < 40; y++)
            for (var x = 0; x < 50; x++)
                img[x, y] = new Rgb24((byte)rng.Next(256), (byte)(x * 5), (byte)(y * 6));
        var path = Path.Combine(dir, "spread.png");
        img.SaveAsPng(path);
        return path;
    }
}
