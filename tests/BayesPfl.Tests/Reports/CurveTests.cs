using BayesPfl.Engine.Metrics;
using BayesPfl.Engine.Reports;
using Xunit;

namespace BayesPfl.Tests.Reports;

public class CurveTests
{
    [Fact]
    public void ImageCurvesIntegrateToTheMetricsOnTieHeavyScores()
    {
        var rng = new Random(5);
        var labels = Enumerable.Range(0, 300).Select(_ => (byte)(rng.NextDouble() < 0.3 ? 1 : 0)).ToArray();
        // 20 distinct values: many ties across both classes.
        var scores = labels.Select(l => (float)Math.Round(Math.Clamp(0.5 + 0.25 * l + 0.3 * (rng.NextDouble() - 0.5), 0, 1) * 19) / 19f).ToArray();
        var m = BinaryMetrics.Compute(scores, labels);
        var c = Curve.Of(scores, labels);
        // 1e-12: the same points, summed in float64 in another order than the metric's integer sum.
        Assert.Equal(m.Auroc, c.RocArea(), 1e-12);
        Assert.Equal(m.AveragePrecision, c.StepAp(), 1e-12);
        Assert.Equal((0.0, 0.0), (c.Fpr[0], c.Tpr[0]));
        Assert.Equal((1.0, 1.0), (c.Fpr[^1], c.Tpr[^1]));
        Assert.Equal((0.0, 1.0), (c.Recall[0], c.Precision[0]));
        Assert.Equal(1.0, c.Recall[^1]);
        Assert.True(c.Fpr.Zip(c.Fpr.Skip(1)).All(p => p.First <= p.Second));
        Assert.Empty(Curve.Of([0.5f, 0.6f], [0, 0]).Fpr);
    }

    [Fact]
    public void PixelCurvesAreThinnedButKeepTheirArea()
    {
        // 20 maps of 64x64 with distinct random values: ~80k sweep points.
        var rng = new Random(9);
        var maps = Enumerable.Range(0, 20).Select(_ => new float[64 * 64]).ToArray();
        var masks = Enumerable.Range(0, 20).Select(_ => new byte[64 * 64]).ToArray();
        for (var k = 0; k < maps.Length; k++)
            for (var i = 0; i < maps[k].Length; i++)
            {
                masks[k][i] = (byte)((i % 64) is > 20 and < 40 && k % 2 == 0 ? 1 : 0);
                maps[k][i] = (float)(rng.NextDouble() + 0.5 * masks[k][i]);
            }
        var o = (Maps: maps, Masks: masks);
        var m = BinaryMetrics.Compute(o.Maps, o.Masks);
        var full = Curve.Of(o.Maps, o.Masks, resolution: 0);
        var thin = Curve.Of(o.Maps, o.Masks);
        Assert.Equal(m.Auroc, full.RocArea(), 1e-12);
        Assert.Equal(m.AveragePrecision, full.StepAp(), 1e-12);
        Assert.True(thin.Fpr.Length < full.Fpr.Length / 2, $"{thin.Fpr.Length} of {full.Fpr.Length} points kept");
        // 1e-2: a kept point every 1e-3 of FPR/TPR, so the trapezoid over chords loses little of a concave curve.
        Assert.Equal(m.Auroc, thin.RocArea(), 1e-2);
        Assert.Equal((1.0, 1.0), (thin.Fpr[^1], thin.Tpr[^1]));
    }

    [Fact]
    public void MeanOfEqualCurvesFollowsThem()
    {
        var c = new Curve([0, 0.5, 1], [0, 0.8, 1], [0, 0.5, 1], [1, 0.9, 0.6]);
        var mean = Curve.Mean([c, c, new Curve([], [], [], [])]);
        Assert.Equal(201, mean.Fpr.Length);
        // 1e-12: linear interpolation at grid points of two identical polylines.
        Assert.Equal(0.4, mean.Tpr[50], 1e-12);
        Assert.Equal(0.8, mean.Tpr[100], 1e-12);
        Assert.Equal(0.75, mean.Precision[150], 1e-12);
    }
}
