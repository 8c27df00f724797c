using System.Text.Json;
using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Synthetic;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Evaluation;
using BayesPfl.Engine.Metrics;
using BayesPfl.Tests.Cli;
using BayesPfl.Tests.Detection;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Evaluation;

/// <summary>Evaluation on a tiny synthetic MVTec-layout set (32 px, 1 normal + 5 defects per category) with the
/// pipeline oracle's tiny CLIP and head on the CPU backend.</summary>
public class EvaluatorTests(PipelineOracleFixture fx) : IClassFixture<PipelineOracleFixture>
{
    private static readonly string[] Categories = ["disc", "wood"];

    private static string Dataset()
    {
        var root = Path.Combine(Repo.TempDir("eval-data"), "data");
        SyntheticDataset.Generate(root, new SyntheticOptions { Seed = 3, Size = 32, PerCategory = 1, Groups = ["A"] });
        return root;
    }

    private static Dataset Open(string root) => DatasetReader.Open(root, options: new DatasetOptions { Categories = Categories });

    private AnomalyDetector Detector() => AnomalyDetector.Load(fx.ClipPath, fx.HeadPath, new DetectorOptions { Device = DetectorDevice.Cpu });

    [Fact]
    public void MetricsAreInRangeAndEqualADirectComputationAndReportsParse()
    {
        var data = Open(Dataset());
        using var detector = Detector();
        var category = data.Category("disc");
        var outputs = Evaluator.Collect(detector, category);
        Assert.Equal(category.Samples.Count, outputs.Maps.Count);
        Assert.All(outputs.Maps, m => Assert.Equal(detector.ImageSize * detector.ImageSize, m.Length));
        Assert.Contains(outputs.Masks, m => m.Contains((byte)1));
        Assert.All(outputs.Masks.Where((_, i) => outputs.Labels[i] == 0), m => Assert.DoesNotContain((byte)1, m));

        // Direct computation with the Metrics functions on the same maps.
        var row = Evaluator.Score(outputs);
        var fused = ImageScore.Fuse(outputs.PImg, outputs.SMap).Select(v => (float)v).ToArray();
        var image = BinaryMetrics.Compute(fused, outputs.Labels);
        var pixel = BinaryMetrics.Compute(outputs.Maps, outputs.Masks);
        var pro = Aupro.Mvtec(outputs.Maps, outputs.Masks, outputs.MapSize, outputs.MapSize);
        Assert.Equal([image.Auroc, image.AveragePrecision, image.F1Max, pixel.Auroc, pixel.AveragePrecision, pixel.F1Max, pro], row.Values);
        Assert.Equal((1, 5), (row.Normal, row.Anomalous));
        Assert.All(row.Values, v => Assert.InRange(v, 0, 1));

        var report = Evaluator.Run(detector, data);
        Assert.Equal(Categories, report.Categories.Select(c => c.Category));
        Assert.All(report.Categories.SelectMany(c => c.Values).Concat(report.Mean.Values), v => Assert.InRange(v, 0, 1));
        // 12 digits: the same doubles averaged in possibly another summation order.
        for (var i = 0; i < CategoryMetrics.MetricNames.Length; i++)
            Assert.Equal(report.Categories.Average(c => c.Values[i]), report.Mean.Values[i], 12);

        var dir = Path.Combine(Repo.TempDir("eval-reports"), "out");
        EvaluationReports.WriteAll(dir, report);
        Assert.Equal(["metrics.csv", "metrics.json", "metrics.md"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        CheckReports(dir, Categories);
    }

    internal static void CheckReports(string dir, string[] categories)
    {
        var csv = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        Assert.Equal("category,normal,anomalous,image_auroc,image_ap,image_f1max,pixel_auroc,pixel_ap,pixel_f1max,aupro", csv[0]);
        Assert.Equal(categories.Append("mean"), csv.Skip(1).Select(l => l.Split(',')[0]));
        Assert.All(csv.Skip(1), l =>
        {
            var cells = l.Split(',');
            Assert.Equal(10, cells.Length);
            Assert.All(cells.Skip(3), c => Assert.InRange(double.Parse(c, System.Globalization.CultureInfo.InvariantCulture), 0, 1));
        });

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")));
        var rows = json.RootElement.GetProperty("categories").EnumerateArray().ToArray();
        Assert.Equal(categories, rows.Select(r => r.GetProperty("category").GetString()));
        foreach (var r in rows.Append(json.RootElement.GetProperty("mean")))
            foreach (var name in CategoryMetrics.MetricNames)
                Assert.InRange(r.GetProperty(name).GetDouble(), 0, 1);

        var md = File.ReadAllLines(Path.Combine(dir, "metrics.md"));
        Assert.StartsWith("| category |", md[0]);
        var body = md.Skip(2).ToArray();
        Assert.Equal(categories.Append("mean"), body.Select(l => l.Split('|')[1].Trim()));
        Assert.All(body, l => Assert.Equal(12, l.Split('|').Length));
    }

    [Fact]
    public void AllAnomalousCategoryHasNoImageMetricsAndIsLeftOutOfTheirMean()
    {
        var a = new CategoryMetrics("a", 0, 3, double.NaN, double.NaN, double.NaN, 0.8, 0.5, 0.4, 0.6);
        var b = new CategoryMetrics("b", 2, 2, 0.9, 0.7, 0.6, 0.6, 0.3, 0.2, 0.4);
        var mean = Evaluator.Mean([a, b]);
        double[] expected = [0.9, 0.7, 0.6, 0.7, 0.4, 0.3, 0.5];
        // 12 digits: decimal literals are not exact in binary, so (0.8 + 0.6) / 2 is 0.7 only to rounding.
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], mean.Values[i], 12);
        Assert.Equal((2, 5), (mean.Normal, mean.Anomalous));
        var report = new EvaluationReport("r", DatasetLayout.MvTec, "cpu", [a, b], mean);
        Assert.Contains("| a | 0 | 3 | n/a | n/a | n/a | 0.8000 |", EvaluationReports.Markdown(report));
        Assert.Contains("a,0,3,,,,0.8,", EvaluationReports.Csv(report));
        using var json = JsonDocument.Parse(EvaluationReports.Json(report));
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("categories")[0].GetProperty("image_auroc").ValueKind);
    }

    [Fact]
    public void CliEvaluatesEndToEndAndANonexistentRootFailsWithOneLineAndNoReports()
    {
        var root = Dataset();
        var dir = Repo.TempDir("eval-cli");
        var output = Path.Combine(dir, "out");
        var (exit, stdout, stderr) = CliProcess.Run("eval", "--dataset", "mvtec", "--root", root, "--clip", fx.ClipPath, "--head", fx.HeadPath,
            "--categories", "wood", "--out", output, "--device", "cpu");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("wood", stdout);
        Assert.Contains("mean", stdout);
        Assert.Contains("pixel metrics on cpu", stdout);  // auto with a CPU detector
        CheckReports(output, ["wood"]);

        var missingOut = Path.Combine(dir, "missing-out");
        (exit, stdout, stderr) = CliProcess.Run("eval", "--root", Path.Combine(dir, "no-such-root"), "--clip", fx.ClipPath, "--head", fx.HeadPath,
            "--out", missingOut, "--device", "cpu");
        Assert.NotEqual(0, exit);
        var errors = stderr.Trim().Split('\n');
        Assert.Single(errors);
        Assert.StartsWith("bayespfl eval: ", errors[0]);
        Assert.Contains("does not exist", errors[0]);
        Assert.False(Directory.Exists(missingOut) && Directory.EnumerateFileSystemEntries(missingOut).Any());
    }
}
