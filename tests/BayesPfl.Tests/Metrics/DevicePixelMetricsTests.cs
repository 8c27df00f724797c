using System.Diagnostics;
using BayesPfl.Engine.Evaluation;
using BayesPfl.Engine.Metrics;
using BayesPfl.Tests.Cli;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Metrics;

/// <summary>
/// The GPU path of PixelMetrics (RankedSweep over rank_count_forward) against the CPU sweeps on the same data.
/// AUROC, F1-max, its threshold and IoU are functions of the same integer counts at the same thresholds, so they
/// must be bit for bit equal; the spec AUPRO comes from identical histograms through the same code, so it too.
/// AP and the MVTec AUPRO are float64 sums of the same terms in another association (the CPU adds per 16-bit key
/// bucket and splits normal-only runs at bucket edges, the GPU path adds sequentially over whole runs):
/// PixelMetrics.SummationTolerance bounds that, ~1e-12 relative at these sizes (a few thousand terms of size
/// &lt;= 1), which still catches a threshold slip: it moves AP by &gt;= 1/P and AUPRO by &gt;= 1e-6 here, and by
/// ~1e-7 at the real-GPU size, where the bound is ~2e-10.
/// </summary>
public class DevicePixelMetricsTests
{

    [Theory]
    [InlineData("random", 5, 13, 11, 0)]
    [InlineData("random", 3, 7, 33, 50)]      // chunks of 50 scores: maps straddle launches
    [InlineData("ties", 6, 9, 9, 0)]          // scores quantised to 5 levels: every threshold a plateau
    [InlineData("equal", 4, 8, 8, 0)]         // one threshold for everything
    [InlineData("zeros", 4, 8, 9, 0)]         // -0 and +0 one threshold, on both sides
    [InlineData("single", 3, 10, 10, 0)]      // one anomalous pixel
    [InlineData("allanomalous", 2, 5, 7, 0)]  // no normal pixel: AUROC and AUPRO NaN, AP and F1 defined
    [InlineData("none", 2, 5, 7, 0)]          // no anomalous pixel: all NaN
    [InlineData("extremes", 4, 11, 6, 0)]     // anomalous pixels hold ±float.MaxValue, the range's ends
    [InlineData("random", 1, 1, 1, 0)]
    public void MatchesCpuPath(string kind, int images, int h, int w, int chunk)
    {
        var (maps, masks) = Category(kind, images, h, w, seed: images * 1000 + h * w);
        var cpu = PixelMetrics.Compute(maps, masks, h, w, specAupro: true, options: new SweepOptions(2, 97));
        using var backend = TestBackends.Emulated();
        var gpu = PixelMetrics.Compute(maps, masks, h, w, backend.Gpu, specAupro: true, options: new SweepOptions(2),
            chunkScores: chunk > 0 ? chunk : 1 << 20);
        Assert.Equal(("cpu", "cuda"), (cpu.Device, gpu.Device));
        Same(cpu, gpu, masks, $"{kind} {images}x{h}x{w}");
    }

    [Fact]
    public void NaNIsAnErrorNamingTheMapAndPixel()
    {
        var (maps, masks) = Category("random", 3, 4, 5, seed: 1);
        maps[2][7] = float.NaN;
        using var backend = TestBackends.Emulated();
        var e = Assert.Throws<ArgumentException>(() => PixelMetrics.Compute(maps, masks, 4, 5, backend.Gpu));
        Assert.Contains("score map 2 has NaN at pixel 7", e.Message);
    }

    [Fact]
    public void EvaluatorScoresTheSameOnTheDevice()
    {
        var (maps, masks) = Category("random", 4, 12, 12, seed: 5);
        var outputs = new CategoryOutputs("c", 12, [0.1, 0.9, 0.2, 0.8], [0.3, 0.7, 0.1, 0.9], [0, 1, 0, 1], maps, masks);
        using var backend = TestBackends.Emulated();
        var cpu = Evaluator.Score(outputs).Values;
        var gpu = Evaluator.Score(outputs, backend.Gpu).Values;
        var tol = PixelMetrics.SummationTolerance(masks.Sum(m => m.Count(v => v != 0)));
        for (var i = 0; i < cpu.Length; i++)
            Assert.True(Math.Abs(cpu[i] - gpu[i]) <= tol * Math.Abs(cpu[i]), $"{CategoryMetrics.MetricNames[i]}: {cpu[i]:R} vs {gpu[i]:R}");
    }

    [Fact]
    public void MetricsDeviceCudaWithoutADeviceIsOneLine()
    {
        if (BayesPfl.Host.Cuda.IsAvailable) Assert.Skip("a CUDA device is present: --metrics-device cuda is valid here");
        // Checked before the dataset and the model are opened, so these paths need not exist.
        var (exit, stdout, stderr) = CliProcess.Run("eval", "--root", "no-such-dir", "--head", "no-such.safetensors", "--metrics-device", "cuda");
        Assert.Equal(1, exit);
        Assert.StartsWith("bayespfl eval: --metrics-device cuda: no CUDA device", stderr.Trim());
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Empty(stdout);
    }

    [Fact]
    public void ReportJsonSaysWhereTheMetricsRan()
    {
        var row = new CategoryMetrics("c", 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var report = new EvaluationReport("r", BayesPfl.Engine.Data.Datasets.DatasetLayout.MvTec, "cuda", [row], row) { MetricsDevice = "cuda" };
        using var json = System.Text.Json.JsonDocument.Parse(EvaluationReports.Json(report));
        Assert.Equal("cuda", json.RootElement.GetProperty("metrics_device").GetString());
    }

    [Fact]
    public void RealGpuMatchesCpuAtFullSize()
    {
        var (backend, reason) = TestBackends.RealGpu();
        if (backend is null) Assert.Skip(reason);
        using var _ = backend;
        const int images = 64, side = 518;
        var (maps, masks) = Category("random", images, side, side, seed: 64);
        var sw = Stopwatch.StartNew();
        var cpu = PixelMetrics.Compute(maps, masks, side, side, specAupro: true);
        var cpuSeconds = sw.Elapsed.TotalSeconds;
        PixelMetrics.Compute([maps[0]], [masks[0]], side, side, backend.Gpu);  // warm-up: NVRTC compile and module load
        sw.Restart();
        var gpu = PixelMetrics.Compute(maps, masks, side, side, backend.Gpu, specAupro: true);
        var gpuSeconds = sw.Elapsed.TotalSeconds;
        TestContext.Current.TestOutputHelper?.WriteLine($"{images} maps of {side}²: CPU {cpuSeconds:F3} s, GPU path {gpuSeconds:F3} s " +
            $"({cpuSeconds / gpuSeconds:F1}x); AUROC {gpu.Binary.Auroc:R} AP {gpu.Binary.AveragePrecision:R} AUPRO {gpu.Aupro:R}");
        Same(cpu, gpu, masks, "real GPU");
    }

    private static void Same(PixelMetrics cpu, PixelMetrics gpu, byte[][] masks, string what)
    {
        var tol = PixelMetrics.SummationTolerance(masks.Sum(m => m.LongCount(v => v != 0)));
        Assert.Equal(cpu.Binary.Auroc, gpu.Binary.Auroc);
        Assert.Equal(cpu.Binary.F1Max, gpu.Binary.F1Max);
        Assert.Equal(cpu.Binary.F1Threshold, gpu.Binary.F1Threshold);
        Assert.Equal(cpu.Binary.IouAtF1, gpu.Binary.IouAtF1);
        Assert.Equal(cpu.AuproSpec, gpu.AuproSpec);
        foreach (var (name, a, b) in new[] { ("AP", cpu.Binary.AveragePrecision, gpu.Binary.AveragePrecision), ("AUPRO", cpu.Aupro, gpu.Aupro) })
            Assert.True(double.IsNaN(a) ? double.IsNaN(b) : Math.Abs(a - b) <= tol * Math.Abs(a), $"{what}: {name} CPU {a:R} vs GPU {b:R}");
    }

    /// <summary>Maps with 0-2 rectangular defects each, scores noise + 0.5 inside defects, then shaped by kind.</summary>
    internal static (float[][] Maps, byte[][] Masks) Category(string kind, int images, int h, int w, int seed)
    {
        var rng = new Random(seed);
        var maps = new float[images][];
        var masks = new byte[images][];
        for (var m = 0; m < images; m++)
        {
            var mask = new byte[h * w];
            for (var d = rng.Next(3); d > 0; d--)
            {
                int y0 = rng.Next(h), x0 = rng.Next(w), dy = 1 + rng.Next(Math.Max(1, h / 3)), dx = 1 + rng.Next(Math.Max(1, w / 3));
                for (var y = y0; y < Math.Min(h, y0 + dy); y++)
                    for (var x = x0; x < Math.Min(w, x0 + dx); x++) mask[y * w + x] = 1;
            }
            if (kind == "allanomalous") Array.Fill(mask, (byte)1);
            if (kind is "none" or "single") Array.Clear(mask);
            var map = new float[h * w];
            for (var i = 0; i < map.Length; i++)
            {
                var s = (float)rng.NextDouble() + 0.5f * mask[i];
                map[i] = kind switch
                {
                    "ties" => MathF.Round(s * 3) / 3,
                    "equal" => 0.5f,
                    "zeros" => rng.Next(3) switch { 0 => -0f, 1 => 0f, _ => s - 0.5f },
                    _ => s,
                };
            }
            (maps[m], masks[m]) = (map, mask);
        }
        if (kind == "single") masks[images - 1][h * w / 2] = 1;
        if (kind == "extremes" && masks.SelectMany(x => x).Count(v => v != 0) >= 2)
        {
            var anomalous = Enumerable.Range(0, images).SelectMany(m => Enumerable.Range(0, h * w).Where(i => masks[m][i] != 0).Select(i => (m, i))).ToArray();
            (maps[anomalous[0].m][anomalous[0].i], maps[anomalous[^1].m][anomalous[^1].i]) = (float.MaxValue, -float.MaxValue);
        }
        return (maps, masks);
    }
}
