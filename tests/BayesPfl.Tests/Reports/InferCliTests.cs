using BayesPfl.Engine.Reports;
using BayesPfl.Tests.Cli;
using BayesPfl.Tests.Detection;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Reports;

/// <summary>`bayespfl infer` thresholds and bad input, with the pipeline oracle's tiny CLIP and head on the CPU.</summary>
public class InferCliTests(PipelineOracleFixture fx) : IClassFixture<PipelineOracleFixture>
{
    /// <summary>A copy of the head in a fresh folder, so that a sidecar next to it concerns this test only.</summary>
    private string HeadCopy()
    {
        var head = Path.Combine(Repo.TempDir("infer-head"), "head.safetensors");
        File.Copy(fx.HeadPath, head);
        return head;
    }

    private (int Exit, string Stdout, string Stderr) Infer(string head, params string[] extra) =>
        CliProcess.Run(["infer", fx.Images[0], fx.Images[1], "--clip", fx.ClipPath, "--head", head, "--device", "cpu", .. extra]);

    private static string[] Decisions(string stdout) =>
        stdout.Split('\n').Where(l => l.Contains("p_img=")).Select(l => l.Trim().Split('\t')[^1]).ToArray();

    [Fact]
    public void SidecarGivesTheClassOrPooledThresholdAndTheCommandLineOverridesIt()
    {
        var head = HeadCopy();
        // Class entry 0 (every score is ≥ 0: all anomalous); pooled 1 (scores are < 1: all normal).
        new ThresholdFile(1, 0.5, 0.5, 0.5, "data", "MvTec", [new CategoryThreshold("screw", 1, 1, 0, 0.7, 0.4, 0.3)]).Save(ThresholdFile.PathFor(head));

        var (exit, stdout, stderr) = Infer(head, "--class", "screw");
        Assert.True(exit == 0, stderr);
        Assert.Contains($"image 0 on {ImageDecision.ScoreKind}, pixel 0.4, from sidecar {ThresholdFile.PathFor(head)} (category 'screw' of data)", stdout);
        Assert.Equal(["ANOMALOUS", "ANOMALOUS"], Decisions(stdout));

        (exit, stdout, stderr) = Infer(head, "--class", "bottle");
        Assert.True(exit == 0, stderr);
        Assert.Contains("image 1 on", stdout);
        Assert.Contains("(pooled over 1 categories of data)", stdout);
        Assert.Equal(["normal", "normal"], Decisions(stdout));

        (exit, stdout, stderr) = Infer(head, "--class", "screw", "--threshold", "1");
        Assert.True(exit == 0, stderr);
        Assert.Contains("image 1 on", stdout);
        Assert.Contains("pixel 0.4, from the command line and sidecar", stdout);
        Assert.Equal(["normal", "normal"], Decisions(stdout));

        // No --class: the generic prompt noun, which no sidecar category matches, so the pooled threshold.
        (exit, stdout, stderr) = Infer(head);
        Assert.True(exit == 0, stderr);
        Assert.Contains("class 'object'", stdout);
        Assert.Contains("(pooled over 1 categories of data)", stdout);
    }

    [Fact]
    public void BadInputsFailWithOneLineAndLeaveNoRecords()
    {
        var dir = Repo.TempDir("infer-bad");
        var empty = Path.Combine(dir, "empty");
        Directory.CreateDirectory(empty);
        var output = Path.Combine(dir, "out");
        var run = (string[] args) => CliProcess.Run(["infer", .. args, "--out", output, "--device", "cpu"]);

        var head = HeadCopy();
        var notAModel = Path.Combine(dir, "model.safetensors");
        File.Copy(fx.Images[0], notAModel);
        File.WriteAllText(ThresholdFile.PathFor(head), "{\"format\": \"bayespfl.threshold\", \"format_version\": 1");
        var cases = new (string[] Args, string Expected)[]
        {
            ([empty, "--clip", fx.ClipPath, "--head", fx.HeadPath, "--class", "screw"], "folder holds no images"),
            ([fx.Images[0], "--clip", fx.HeadPath, "--head", fx.HeadPath, "--class", "screw"], fx.HeadPath),
            ([fx.Images[0], "--clip", fx.ClipPath, "--head", notAModel, "--class", "screw"], notAModel),
            ([fx.Images[0], "--clip", fx.ClipPath, "--head", head, "--class", "screw"], "malformed threshold file"),
            ([fx.Images[0], "--clip", fx.ClipPath, "--head", fx.HeadPath, "--class", " "], "--class is empty"),
            ([fx.Images[0], "--clip", fx.ClipPath, "--head", fx.HeadPath, "--class", string.Join(' ', Enumerable.Repeat("bottle", 80))], "longer than the context length"),
        };
        foreach (var (args, expected) in cases)
        {
            var (exit, stdout, stderr) = run(args);
            Assert.True(exit == 1, $"{string.Join(' ', args)}: exit {exit}\n{stdout}\n{stderr}");
            var lines = stderr.Trim().Split('\n');
            Assert.True(lines.Length == 1, stderr);
            Assert.StartsWith("bayespfl infer: ", lines[0]);
            Assert.Contains(expected, lines[0]);
            Assert.False(File.Exists(Path.Combine(output, InferenceRecords.JsonLinesName)), string.Join(' ', args));
        }
    }
}
