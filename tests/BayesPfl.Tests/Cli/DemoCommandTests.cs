using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Cli;

/// <summary>`bayespfl demo --size tiny` end to end: data, random CLIP, evaluation before and after training.</summary>
public class DemoCommandTests
{
    [Fact]
    public void TinyDemoRunsEndToEnd()
    {
        var output = Path.Combine(Repo.TempDir("cli-demo"), "demo");
        var (exit, stdout, stderr) = CliProcess.Run("demo", "--size", "tiny", "--out", output, "--device", "cpu");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("FIXED RANDOM weights", stdout);
        foreach (var f in new[] { "clip-random.safetensors", "eval-before/metrics.json", "train/final.head.safetensors", "eval-after/metrics.json" })
            Assert.True(File.Exists(Path.Combine(output, f)), f);
        Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(output, "heatmaps"), "*.png", SearchOption.AllDirectories));
    }

    [Fact]
    public void UnknownSizeIsRefused()
    {
        var (exit, stdout, stderr) = CliProcess.Run("demo", "--size", "huge");
        Assert.NotEqual(0, exit);
        Assert.Contains("huge", stderr + stdout);
    }
}
