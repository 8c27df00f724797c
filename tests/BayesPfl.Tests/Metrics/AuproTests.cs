using BayesPfl.Engine.Metrics;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Metrics;

public class AuproTests
{
    [Theory]
    [InlineData(0, 6, 40, 33)]
    [InlineData(5, 6, 40, 33)]   // 5 score levels: heavy ties, every threshold a plateau
    [InlineData(0, 3, 7, 197)]
    [InlineData(12, 9, 33, 1)]   // one-pixel-wide maps
    public void MatchesNumPyDefinitions(int levels, int images, int h, int w)
    {
        using var f = Oracle.Run("metrics_oracle.py", "--case", "aupro", "--levels", levels.ToString(), "--images", images.ToString(),
            "--h", h.ToString(), "--w", w.ToString());
        var maps = OracleData.Split(f.ReadFloats("maps"), h * w);
        var masks = OracleData.Split(OracleData.Bytes(f, "masks"), h * w);
        var what = $"levels={levels} {images}x{h}x{w} seed={OracleData.Seed(f)}";

        var labels = new int[h * w];
        var regions = masks.Sum(m => ConnectedComponents.Label(m, h, w, labels));
        Assert.True(f.ReadInts("regions")[0] == regions, $"{what}: {regions} regions, SciPy {f.ReadInts("regions")[0]}");

        // The same piecewise-linear integral; the oracle sums the PRO weights in sorted-pixel order, we per key
        // bucket: float64 reassociation over <= 20k terms of size <= 1, far below 1e-12 (a one-threshold
        // slip changes the area by >= 1e-6 here).
        var mvtec = Aupro.Mvtec(maps, masks, h, w, options: new SweepOptions(2, 50));
        var expected = OracleData.Scalar(f, "mvtec");
        Assert.True(Math.Abs(mvtec - expected) <= 1e-12, $"{what}: MVTec AUPRO {mvtec:R} vs {expected:R}");

        // Same thresholds bit for bit (same float64 formula); region fractions are summed in another order
        // (np.mean is pairwise) and multiplied by 1/size instead of divided: a few ulp per point.
        var spec = Aupro.SpecVariant(maps, masks, h, w);
        var expectedSpec = OracleData.Scalar(f, "spec");
        Assert.True(double.IsNaN(expectedSpec) ? double.IsNaN(spec) : Math.Abs(spec - expectedSpec) <= 1e-12,
            $"{what}: spec AUPRO {spec:R} vs {expectedSpec:R}");
    }

    [Fact]
    public void PerfectAndInvertedMaps()
    {
        var mask = new byte[] { 0, 0, 0, 1, 1, 0, 0, 0, 1 };
        var perfect = mask.Select(v => (float)v).ToArray();
        Assert.Equal(1.0, Aupro.Mvtec([perfect], [mask], 3, 3), 12);
        var inverted = mask.Select(v => 1f - v).ToArray();
        Assert.Equal(0.0, Aupro.Mvtec([inverted], [mask], 3, 3), 12);
    }

    [Fact]
    public void NoRegionsGivesNaN()
    {
        Assert.True(double.IsNaN(Aupro.Mvtec([new float[] { 0.1f, 0.2f }], [new byte[2]], 1, 2)));
        Assert.True(double.IsNaN(Aupro.SpecVariant([new float[] { 0.1f, 0.2f }], [new byte[2]], 1, 2)));
    }

    [Fact]
    public void LabelsEightConnectedInRasterOrder()
    {
        // Two diagonal chains that meet only at corners form one region; the U shape merges late.
        byte[] mask =
        [
            1, 0, 0, 0, 1, 0, 1,
            0, 1, 0, 1, 0, 0, 1,
            0, 0, 1, 0, 0, 0, 1,
            0, 0, 0, 0, 1, 1, 1,
            1, 1, 0, 0, 0, 0, 0,
        ];
        var labels = new int[mask.Length];
        Assert.Equal(3, ConnectedComponents.Label(mask, 5, 7, labels));
        int[] expected =
        [
            1, 0, 0, 0, 1, 0, 2,
            0, 1, 0, 1, 0, 0, 2,
            0, 0, 1, 0, 0, 0, 2,
            0, 0, 0, 0, 2, 2, 2,
            3, 3, 0, 0, 0, 0, 0,
        ];
        Assert.Equal(expected, labels);
    }
}
