using System.Text.Json;
using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Evaluation;
using BayesPfl.Tests.Cli;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Precision;

/// <summary>`bayespfl infer --precision` end to end on generated images, a precision that does not exist, and eval's report.</summary>
public class InferPrecisionTests(TinyDetectorFiles fx) : IClassFixture<TinyDetectorFiles>
{
    [Fact]
    public void Bf16RunRecordsItsPrecisionAndScoresNearFp32()
    {
        var dir = Repo.TempDir("cli-infer-bf16");
        var records = new Dictionary<string, JsonElement[]>();
        foreach (var precision in new[] { "fp32", "bf16" })
        {
            var output = Path.Combine(dir, precision);
            var (exit, stdout, stderr) = CliProcess.Run(["infer", .. fx.Images, "--clip", fx.ClipPath, "--head", fx.HeadPath, "--class", "bottle",
                "--out", output, "--device", "cpu", "--precision", precision]);
            Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
            Assert.Contains($"backend cpu ({precision})", stdout);
            var csv = File.ReadAllLines(Path.Combine(output, "results.csv"));
            Assert.EndsWith(",precision", csv[0]);
            Assert.All(csv.Skip(1), l => Assert.EndsWith("," + precision, l));
            records[precision] = [.. File.ReadAllLines(Path.Combine(output, "results.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)];
            Assert.Equal(3, records[precision].Length);
            Assert.All(records[precision], r => Assert.Equal(precision, r.GetProperty("precision").GetString()));
        }
        for (var i = 0; i < 3; i++)
        {
            double a = records["fp32"][i].GetProperty("score").GetDouble(), b = records["bf16"][i].GetProperty("score").GetDouble();
            // The score is the mean of p_img and s_map, each within the detector test's bounds of fp32.
            Assert.InRange(Math.Abs(a - b), 0, Math.Max(Bf16DetectorTests.MapBound, Bf16DetectorTests.ScoreBound));
        }
    }

    [Fact]
    public void UnknownPrecisionIsOneLineAndAFailure()
    {
        var (exit, _, stderr) = CliProcess.Run("infer", fx.Images[0], "--clip", fx.ClipPath, "--head", fx.HeadPath, "--precision", "fp16");
        Assert.NotEqual(0, exit);
        Assert.Equal("--precision fp16: expected fp32 or bf16 (there is no fp16 mode)", stderr.Trim());
    }

    [Fact]
    public void EvalReportNamesThePrecision()
    {
        var row = new CategoryMetrics("a", 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var report = new EvaluationReport("r", DatasetLayout.MvTec, "cuda", [row], row, DetectorPrecision.Bf16);
        using var json = JsonDocument.Parse(EvaluationReports.Json(report));
        Assert.Equal("bf16", json.RootElement.GetProperty("precision").GetString());
    }
}
