using System.Text.Json;
using BayesPfl.Tests.Cli;
using BayesPfl.Tests.Infra;
using SixLabors.ImageSharp;
using Xunit;

namespace BayesPfl.Tests.Detection;

public class InferCommandTests(PipelineOracleFixture fx) : IClassFixture<PipelineOracleFixture>
{
    [Fact]
    public void FolderAndFilesGiveLinesJsonAndMapsAndBadInputsFailTheRun()
    {
        var dir = Repo.TempDir("cli-infer");
        var images = Path.Combine(dir, "images");
        Directory.CreateDirectory(images);
        foreach (var f in fx.Images[..2]) File.Copy(f, Path.Combine(images, Path.GetFileName(f)));
        var corrupt = Path.Combine(dir, "corrupt.png");
        File.WriteAllBytes(corrupt, File.ReadAllBytes(fx.Images[2])[..60]);
        var output = Path.Combine(dir, "out");
        // A wildcard for the folder's images; --batch 2 puts the corrupt file in a batch with a good one, which must still get its result.
        var (exit, stdout, stderr) = CliProcess.Run("infer", Path.Combine(images, "*.png"), fx.Images[2], corrupt, Path.Combine(dir, "missing.png"),
            "--clip", fx.ClipPath, "--head", fx.HeadPath, "--class", "screw", "--out", output, "--device", "cpu", "--threshold", "0.3", "--batch", "2");
        Assert.True(exit == 1, $"exit {exit}:\n{stdout}\n{stderr}");
        var errors = stderr.Trim().Split('\n');
        Assert.Equal(2, errors.Length);
        Assert.Contains(errors, e => e.StartsWith("bayespfl infer: ") && e.Contains("missing.png"));
        Assert.Contains(errors, e => e.StartsWith("bayespfl infer: ") && e.Contains("corrupt.png"));
        var lines = stdout.Trim().Split('\n').Where(l => l.Contains("p_img=")).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Contains("thresholds: image 0.3 on 0.5*p_img+0.5*s_map, pixel 0.5, from the command line and the default (no sidecar", stdout);
        var records = File.ReadAllLines(Path.Combine(output, "results.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(3, records.Length);
        var csv = File.ReadAllLines(Path.Combine(output, "results.csv"));
        Assert.Equal("path,class,score,p_img,s_map,top_k,threshold,pixel_threshold,anomalous,map,overlay,precision", csv[0]);
        Assert.Equal(4, csv.Length);
        foreach (var (r, i) in records.Select((r, i) => (r, i)))
        {
            var pImg = r.GetProperty("p_img").GetDouble();
            var score = r.GetProperty("score").GetDouble();
            Assert.InRange(pImg, 0, 1);
            Assert.Equal((float)(0.5 * pImg + 0.5 * r.GetProperty("s_map").GetDouble()), (float)score);
            Assert.Equal(score >= 0.3, r.GetProperty("anomalous").GetBoolean());
            Assert.Equal((0.3, 0.5), (r.GetProperty("threshold").GetDouble(), r.GetProperty("pixel_threshold").GetDouble()));
            Assert.Equal(20, r.GetProperty("top_k").GetInt32());
            Assert.Contains(score >= 0.3 ? "ANOMALOUS" : "normal", lines[i]);
            Assert.Equal(score >= 0.3 ? "true" : "false", csv[i + 1].Split(',')[8]);
            var info = Image.Identify(r.GetProperty("map").GetString()!);
            var source = Image.Identify(r.GetProperty("path").GetString()!);
            Assert.Equal((source.Width, source.Height), (info.Width, info.Height));
            var overlay = Image.Identify(r.GetProperty("overlay").GetString()!);
            Assert.Equal((3 * source.Width, source.Height), (overlay.Width, overlay.Height));
        }
        Assert.DoesNotContain(Directory.GetFiles(output), f => f.EndsWith(".tmp"));
    }

    [Fact]
    public void WrongHeadFileFailsWithOneLine()
    {
        var (exit, _, stderr) = CliProcess.Run("infer", fx.Images[0], "--clip", fx.ClipPath, "--head", fx.ClipPath, "--class", "screw", "--device", "cpu");
        Assert.Equal(1, exit);
        Assert.StartsWith("bayespfl infer: ", stderr.Trim());
        Assert.Contains("prompt_context", stderr);
    }
}
