using BayesPfl.Engine.Metrics;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Metrics;

/// <summary>
/// The GPU path of PixelMetrics (emulated kernel) against the NumPy/scikit-learn oracle values of AuproTests and
/// BinaryMetricsTests. Its class name avoids Gpu/Cuda/Device on purpose: the GPU check selects tests by those
/// words, and its Python may lack scikit-learn; nothing here needs a real device.
/// </summary>
public class RankedSweepOracleTests
{
    [Theory]
    [InlineData(5, 6, 40, 33)]
    [InlineData(0, 3, 7, 197)]
    public void MatchesNumPyAupro(int levels, int images, int h, int w)
    {
        using var f = Oracle.Run("metrics_oracle.py", "--case", "aupro", "--levels", levels.ToString(), "--images", images.ToString(),
            "--h", h.ToString(), "--w", w.ToString());
        var maps = OracleData.Split(f.ReadFloats("maps"), h * w);
        var masks = OracleData.Split(OracleData.Bytes(f, "masks"), h * w);
        using var backend = TestBackends.Emulated();
        var gpu = PixelMetrics.Compute(maps, masks, h, w, backend.Gpu, specAupro: true);
        var what = $"levels={levels} {images}x{h}x{w} seed={OracleData.Seed(f)}";
        // Tolerances of AuproTests.MatchesNumPyDefinitions (same reassociation argument).
        Assert.True(Math.Abs(gpu.Aupro - OracleData.Scalar(f, "mvtec")) <= 1e-12, $"{what}: MVTec AUPRO {gpu.Aupro:R} vs {OracleData.Scalar(f, "mvtec"):R}");
        var spec = OracleData.Scalar(f, "spec");
        Assert.True(double.IsNaN(spec) ? double.IsNaN(gpu.AuproSpec) : Math.Abs(gpu.AuproSpec - spec) <= 1e-12, $"{what}: spec AUPRO {gpu.AuproSpec:R} vs {spec:R}");
    }

    [Theory]
    [InlineData("ties", 5000)]
    [InlineData("imbalanced", 20000)]
    public void MatchesScikitLearn(string kind, int n)
    {
        using var f = Oracle.Run("metrics_oracle.py", "--case", "binary", "--kind", kind, "--n", n.ToString(), "--eps", BinaryMetrics.PixelEps.ToString("R"));
        using var backend = TestBackends.Emulated();
        var m = PixelMetrics.Compute([f.ReadFloats("scores")], [OracleData.Bytes(f, "labels")], 1, n, backend.Gpu).Binary;
        var what = $"{kind} n={n} seed={OracleData.Seed(f)}";
        // BinaryMetricsTests.SumTol: same sums, another order.
        Assert.True(Math.Abs(m.Auroc - OracleData.Scalar(f, "auroc")) <= 1e-12, $"{what}: AUROC {m.Auroc:R} vs {OracleData.Scalar(f, "auroc"):R}");
        Assert.True(Math.Abs(m.AveragePrecision - OracleData.Scalar(f, "ap")) <= 1e-12, $"{what}: AP {m.AveragePrecision:R} vs {OracleData.Scalar(f, "ap"):R}");
        Assert.True(Math.Abs(m.F1Max - OracleData.Scalar(f, "f1")) <= 1e-12, $"{what}: F1 {m.F1Max:R} vs {OracleData.Scalar(f, "f1"):R}");
    }
}
