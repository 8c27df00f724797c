using BayesPfl.Engine.Metrics;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Metrics;

public class BinaryMetricsTests
{
    // AUROC and AP are the same sums as sklearn's in a different order (ours: exact integers for AUROC, per
    // 16-bit key bucket for AP; sklearn: float64 cumsum + trapz). Over <= 50k points the float64 rounding of
    // either stays far below 1e-12 on values in [0,1]; 1e-12 still catches any off-by-one-threshold error,
    // which moves these metrics by >= 1/(P*N) or 1/P (>= 1e-10 here).
    private const double SumTol = 1e-12;

    [Theory]
    [InlineData("random", 1000, false)]
    [InlineData("ties", 5000, false)]
    [InlineData("tiny", 2, false)]
    [InlineData("imbalanced", 20000, false)]
    [InlineData("allpos", 300, false)]
    [InlineData("clustered", 50000, false)]
    [InlineData("random", 3001, true)]
    [InlineData("ties", 20000, true)]
    [InlineData("tiny", 2, true)]
    [InlineData("imbalanced", 20000, true)]
    [InlineData("clustered", 50000, true)]
    public void MatchesScikitLearn(string kind, int n, bool pixelPath)
    {
        var eps = pixelPath ? BinaryMetrics.PixelEps : BinaryMetrics.ImageEps;
        using var f = Oracle.Run("metrics_oracle.py", "--case", "binary", "--kind", kind, "--n", n.ToString(), "--eps", eps.ToString("R"));
        var scores = f.ReadFloats("scores");
        var labels = OracleData.Bytes(f, "labels");
        var m = pixelPath
            // Uneven maps, 2 threads, a tiny budget: many scatter groups, chunk boundaries inside buckets.
            ? BinaryMetrics.Compute(OracleData.Pieces(scores, 7, 1, 300), OracleData.Pieces(labels, 7, 1, 300), eps, new SweepOptions(2, 97))
            : BinaryMetrics.Compute(scores, labels, eps);
        var what = $"{kind} n={n} seed={OracleData.Seed(f)}";
        if (f.Contains("auroc")) Assert.True(Math.Abs(m.Auroc - OracleData.Scalar(f, "auroc")) <= SumTol, $"{what}: AUROC {m.Auroc:R} vs {OracleData.Scalar(f, "auroc"):R}");
        else Assert.True(double.IsNaN(m.Auroc), $"{what}: AUROC of one class must be NaN, got {m.Auroc}");
        Assert.True(Math.Abs(m.AveragePrecision - OracleData.Scalar(f, "ap")) <= SumTol, $"{what}: AP {m.AveragePrecision:R} vs {OracleData.Scalar(f, "ap"):R}");
        // F1 is evaluated with NumPy's operations in NumPy's order at the same (tp, fp) point: bitwise equal.
        Assert.True(OracleData.Scalar(f, "f1") == m.F1Max, $"{what}: F1 {m.F1Max:R} vs {OracleData.Scalar(f, "f1"):R}");
        Assert.True(f.ReadFloats("f1_threshold")[0] == m.F1Threshold, $"{what}: F1 threshold {m.F1Threshold:R} vs {f.ReadFloats("f1_threshold")[0]:R}");
        // IoU: one division of the same integers (1e-15 absolute, not xunit's rounding to 15 decimals, which two
        // values 1e-17 apart can straddle).
        Assert.True(Math.Abs(OracleData.Scalar(f, "iou") - m.IouAtF1) <= 1e-15, $"{what}: IoU {m.IouAtF1:R} vs {OracleData.Scalar(f, "iou"):R}");
    }

    [Fact]
    public void ResultDoesNotDependOnThreadsOrBudget()
    {
        var rng = new Random(12345);
        var maps = Enumerable.Range(0, 9).Select(_ => Enumerable.Range(0, 5000).Select(_ => (float)Math.Round(rng.NextDouble() * 300) / 300f).ToArray()).ToArray();
        var masks = maps.Select(m => m.Select(v => (byte)(rng.NextDouble() < v * 0.3 ? 1 : 0)).ToArray()).ToArray();
        var a = BinaryMetrics.Compute(maps, masks, options: new SweepOptions(1));
        var b = BinaryMetrics.Compute(maps, masks, options: new SweepOptions(2, 1000));
        var c = BinaryMetrics.Compute(maps, masks, options: new SweepOptions(3, 1));
        Assert.Equal(a, b);
        Assert.Equal(a, c);
    }

    [Fact]
    public void DegenerateLabelsGiveNaN()
    {
        var allNormal = BinaryMetrics.Compute([0.1f, 0.5f, 0.9f], [0, 0, 0]);
        Assert.True(double.IsNaN(allNormal.Auroc) && double.IsNaN(allNormal.AveragePrecision) && double.IsNaN(allNormal.F1Max));
        var allAnomalous = BinaryMetrics.Compute([0.1f, 0.5f, 0.9f], [1, 1, 1]);
        Assert.True(double.IsNaN(allAnomalous.Auroc));
        Assert.Equal(1.0, allAnomalous.AveragePrecision);
    }

    [Fact]
    public void NaNScoreIsAnError()
    {
        var e = Assert.Throws<ArgumentException>(() => BinaryMetrics.Compute([0.1f, float.NaN], [0, 1]));
        Assert.Contains("NaN at pixel 1", e.Message);
    }

    [Fact]
    public void NegativeZeroIsTheSameThresholdAsZero()
    {
        // One tie between the classes: AUROC 0.5 exactly; were -0 < +0 it would be 0 or 1.
        Assert.Equal(0.5, BinaryMetrics.Compute([-0f, 0f], [1, 0]).Auroc);
        Assert.Equal(0.5, BinaryMetrics.Compute([0f, -0f], [1, 0]).Auroc);
    }

    [Fact]
    public void MismatchedMaskIsAnError()
    {
        var e = Assert.Throws<ArgumentException>(() => BinaryMetrics.Compute([new float[4]], [new byte[3]]));
        Assert.Contains("map 0", e.Message);
    }
}

public class BinaryMetricsPropertyTests
{
    [Fact]
    public void AurocIsTheMannWhitneyStatistic()
    {
        // AUROC = P(s+ > s-) + P(s+ = s-)/2 exactly, for any scores: negatives, infinities, heavy ties.
        var seed = Random.Shared.Next();
        var rng = new Random(seed);
        float[] specials = [float.NegativeInfinity, float.PositiveInfinity, -0f, 0f, float.MaxValue, -float.Epsilon, 1e-30f];
        for (var round = 0; round < 20; round++)
        {
            var n = rng.Next(2, 400);
            var scores = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.2
                ? specials[rng.Next(specials.Length)]
                : (float)(Math.Round(rng.NextDouble() * 8) - 4) * (rng.NextDouble() < 0.5 ? 1f : 1.0001f)).ToArray();
            var labels = Enumerable.Range(0, n).Select(_ => (byte)rng.Next(2)).ToArray();
            labels[0] = 0;
            labels[1] = 1;
            long wins2 = 0, p = 0, q = 0;
            for (var i = 0; i < n; i++)
            {
                if (labels[i] == 0) { q++; continue; }
                p++;
                for (var j = 0; j < n; j++)
                    if (labels[j] == 0) wins2 += scores[i] > scores[j] ? 2 : scores[i] == scores[j] ? 1 : 0;
            }
            // Both are one rounding of the same rational number: identical doubles.
            var auroc = BinaryMetrics.Compute(scores, labels).Auroc;
            Assert.True(wins2 / (2.0 * p * q) == auroc, $"seed {seed} round {round}: AUROC {auroc:R}, Mann-Whitney {wins2 / (2.0 * p * q):R}");
        }
    }
}
