using BayesPfl.Engine.Evaluation;
using BayesPfl.Engine.Metrics;
using BayesPfl.Engine.Reports;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Reports;

public class ThresholdTests
{
    [Fact]
    public void F1ThresholdOnKnownScoresIsTheHandComputedOne()
    {
        // Scores high→low with labels 1 1 0 1 0 0: F1 at t = 0.9: 2/(2+0+1)... P=1, R=1/3 → 0.5;
        // t = 0.8: P=1, R=2/3 → 0.8; t = 0.7: P=2/3, R=2/3 → 0.667; t = 0.6: P=3/4, R=1 → 0.857 (the maximum).
        float[] scores = [0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f];
        byte[] labels = [1, 1, 0, 1, 0, 0];
        var (t, f1) = ThresholdSelection.Image(scores, labels);
        Assert.Equal(0.6f, (float)t);
        // 1e-6: the image eps inside 2PR/(P+R+eps) moves F1 by ~1e-6 from 6/7.
        Assert.Equal(6.0 / 7.0, f1, 1e-6);
        Assert.Equal((double.NaN, double.NaN), ThresholdSelection.Image([0.1f, 0.2f], [1, 1]));
    }

    [Fact]
    public void ThresholdsReuseTheEvaluatorsPixelSweep()
    {
        // eval sweeps each category's maps once: Evaluator.Score hands its pixel sweep to the threshold selection.
        var a = Outputs("a", seed: 3);
        Evaluator.Score(a, null, out var pixels);
        Assert.NotNull(pixels);
        Assert.Equal(ThresholdSelection.Of(a), ThresholdSelection.Of(a, pixels));
        // The given sweep is what is used, not a fresh one: a doctored one shows through.
        var doctored = pixels.Value with { F1Threshold = 0.125f, F1Max = 0.5 };
        var entry = new ThresholdSelection().Add(a, doctored);
        Assert.Equal((0.125, 0.5), (entry.PixelThreshold, entry.PixelF1));
    }

    [Fact]
    public void CategoryAndPooledThresholdsComeFromTheMetricSweep()
    {
        var a = Outputs("a", seed: 1);
        var b = Outputs("b", seed: 2);
        var selection = new ThresholdSelection();
        var ea = selection.Add(a);
        selection.Add(b);
        var pixel = BinaryMetrics.Compute(a.Maps, a.Masks);
        Assert.Equal((double)pixel.F1Threshold, ea.PixelThreshold);
        Assert.Equal(pixel.F1Max, ea.PixelF1);
        Assert.Equal((2, 4), (ea.Normal, ea.Anomalous));

        var file = selection.Build("root", "MvTec");
        var pooled = BinaryMetrics.Compute(a.Maps.Concat(b.Maps).ToArray(), a.Masks.Concat(b.Masks).ToArray());
        // The pooled pixel threshold is the best bin edge of 2^-11 relative width: its F1 is at most the exact maximum
        // and, on these smooth random maps, within 1e-3 of it; the F1 it reports is the exact F1 at that threshold.
        Assert.InRange(file.PixelF1, pooled.F1Max - 1e-3, pooled.F1Max + 1e-12);
        Assert.Equal(ExactF1(a.Maps.Concat(b.Maps), a.Masks.Concat(b.Masks), file.PixelThreshold), file.PixelF1, 12);
        var scores = ThresholdSelection.DecisionScores(a).Concat(ThresholdSelection.DecisionScores(b)).ToArray();
        var image = BinaryMetrics.Compute(scores, a.Labels.Concat(b.Labels).ToArray());
        Assert.Equal((double)image.F1Threshold, file.ImageThreshold);
    }

    [Fact]
    public void SidecarRoundTripsAndBadFilesAreClearErrors()
    {
        var dir = Repo.TempDir("threshold");
        var file = new ThresholdFile(0.4123456789, 0.9, 0.25f, 0.5, "/data/x", "MvTec",
            [new CategoryThreshold("wood", 3, 4, 0.31f, 0.8, double.NaN, double.NaN), new CategoryThreshold("disc", 0, 2, double.NaN, double.NaN, 0.7, 0.6)]);
        var path = ThresholdFile.PathFor(Path.Combine(dir, "head.safetensors"));
        Assert.Equal(Path.Combine(dir, "head.threshold.json"), path);
        file.Save(path);
        Assert.Equal(["head.threshold.json"], Directory.GetFiles(dir).Select(Path.GetFileName));
        var back = ThresholdFile.Load(path);
        CategoryThreshold[] none = [];
        Assert.Equal(file with { Categories = none }, back with { Categories = none });
        Assert.Equal(file.Categories, back.Categories);
        Assert.Equal(0.31f, (float)back.For("WOOD")!.ImageThreshold);
        Assert.Null(back.For("screw"));
        Assert.Contains("\"pixel_threshold\": null", File.ReadAllText(path));

        File.WriteAllText(path, "{\"format\": \"something else\"}");
        Assert.Contains("not a bayespfl threshold file", Assert.Throws<InvalidDataException>(() => ThresholdFile.Load(path)).Message);
        File.WriteAllText(path, "{ truncated");
        var e = Assert.Throws<InvalidDataException>(() => ThresholdFile.Load(path));
        Assert.StartsWith(path + ": malformed threshold file", e.Message);
        File.WriteAllText(path, file.ToJson().Replace(ImageDecision.ScoreKind, "p_img"));
        Assert.Contains("thresholds are for the score \"p_img\"", Assert.Throws<InvalidDataException>(() => ThresholdFile.Load(path)).Message);
    }

    private static double ExactF1(IEnumerable<float[]> maps, IEnumerable<byte[]> masks, double t)
    {
        long tp = 0, fp = 0, p = 0;
        foreach (var (m, y) in maps.Zip(masks))
            for (var i = 0; i < m.Length; i++)
            {
                if (y[i] != 0) p++;
                if (m[i] < t) continue;
                if (y[i] != 0) tp++;
                else fp++;
            }
        double precision = (double)tp / (tp + fp), recall = (double)tp / p;
        return 2 * precision * recall / (precision + recall + BinaryMetrics.PixelEps);
    }

    /// <summary>6 images of 24x24: 2 normal, 4 with a square defect whose map values run higher (noisy, overlapping).</summary>
    internal static CategoryOutputs Outputs(string name, int seed)
    {
        const int s = 24;
        var rng = new Random(seed);
        var maps = new List<float[]>();
        var masks = new List<byte[]>();
        byte[] labels = [0, 0, 1, 1, 1, 1];
        foreach (var l in labels)
        {
            var map = new float[s * s];
            var mask = new byte[s * s];
            int x0 = rng.Next(s - 8), y0 = rng.Next(s - 8);
            for (var y = 0; y < s; y++)
                for (var x = 0; x < s; x++)
                {
                    var inside = l == 1 && x >= x0 && x < x0 + 8 && y >= y0 && y < y0 + 8;
                    mask[y * s + x] = (byte)(inside ? 1 : 0);
                    map[y * s + x] = (float)(0.3 * rng.NextDouble() + (inside ? 0.2 : 0));
                }
            maps.Add(map);
            masks.Add(mask);
        }
        var pImg = labels.Select(l => 0.4 * rng.NextDouble() + 0.3 * l).ToArray();
        var sMap = maps.Select(m => (double)m.Max()).ToArray();
        return new CategoryOutputs(name, s, pImg, sMap, labels, maps, masks);
    }
}
