using System.Text.RegularExpressions;
using BayesPfl.Tests.Cli;
using Xunit;

namespace BayesPfl.Tests.Validation;

/// <summary>`bayespfl bench` at the tiny size (random CLIP and head), on the CPU as CI has it.</summary>
public class BenchCommandTests
{
    [Fact]
    public void TinyBenchPrintsPhasesThatAddUpAndTheCpuBaseline()
    {
        var (exit, stdout, stderr) = CliProcess.Run("bench", "--tiny", "--images", "2", "--device", "cpu");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("2 images per device", stdout);
        // Without --precision both modes run, and the comparison line follows the table.
        Assert.Matches(@"│ cpu\s+│ bf16\s+│", stdout);
        var compared = Regex.Match(stdout, @"cpu: bf16/fp32 time [\d.]+ \(vision [\d.]+\), max \|Δ anomaly map\| ([\d.E+-]+), max \|Δ p_img\| ([\d.E+-]+) over 2 images");
        Assert.True(compared.Success, stdout);
        // Same inputs and flow samples: the maps differ only by bf16 rounding (bounds of Bf16DetectorTests), and do differ.
        var delta = double.Parse(compared.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(delta, double.Epsilon, Precision.Bf16DetectorTests.MapBound);
        var row = Regex.Match(stdout, @"│ cpu\s+│ fp32\s+│\s+([\d.]+) │\s+([\d.]+) │\s+([\d.]+) │\s+([\d.]+) │\s+([\d.]+) │\s+1\.00x │");
        Assert.True(row.Success, stdout);
        var ms = Enumerable.Range(1, 5).Select(i => double.Parse(row.Groups[i].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.All(ms, v => Assert.True(v > 0, stdout));
        // The phases partition the timed run (each value is rounded to 0.01 ms).
        Assert.Equal(ms[3], ms[0] + ms[1] + ms[2], 0.03);
        Assert.Equal(1000 / ms[3], ms[4], 0.01 + ms[4] * 0.01);
    }

    [Fact]
    public void KeepLeavesTheRandomModelFilesThatAnotherRunLoads()
    {
        var dir = Path.Combine(Infra.Repo.TempDir("bench-keep"), "model");
        var (exit, stdout, stderr) = CliProcess.Run("bench", "--tiny", "--images", "1", "--device", "cpu", "--precision", "fp32", "--keep", dir);
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        string clip = Path.Combine(dir, "clip.safetensors"), head = Path.Combine(dir, "head.safetensors");
        Assert.Equal(["clip.safetensors", "head.safetensors"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        // The kept files are a working model: the same bench runs on them as --clip/--head.
        (exit, stdout, stderr) = CliProcess.Run("bench", "--clip", clip, "--head", head, "--images", "1", "--device", "cpu", "--precision", "fp32");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("1 images per device", stdout);
    }

    [Fact]
    public void TinyTrainingBenchPrintsPhasesThatAddUpAndTheStepToForwardRatio()
    {
        var (exit, stdout, stderr) = CliProcess.Run("bench", "--training", "--tiny", "--batch", "2", "--images", "1", "--device", "cpu");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("stage-1 training steps of 2 images", stdout);
        var row = Regex.Match(stdout, @"│ cpu\s+│\s+([\d.]+) │\s+([\d.]+) │\s+([\d.]+) │\s+([\d.]+) │\s+([\d.]+) │\s+([\d.]+) │\s+([\d.]+)x │\s+1\.00x │");
        Assert.True(row.Success, stdout);
        var v = Enumerable.Range(1, 7).Select(i => double.Parse(row.Groups[i].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.All(v, x => Assert.True(x > 0, stdout));
        // The four phases partition the step (each rounded to 0.1 ms); the ratio is the step over vision + forward.
        Assert.Equal(v[4], v[0] + v[1] + v[2] + v[3], 0.25);
        Assert.Equal(v[4] / (v[0] + v[1]), v[6], 0.02 + v[6] * 0.02);
    }

    [Theory]
    [InlineData("--training needs exactly one of --tiny and --real-size", "--training")]
    [InlineData("give either --clip and --head, --tiny or --real-size")]
    [InlineData("give either --clip and --head, --tiny or --real-size", "--tiny", "--clip", "c.safetensors")]
    [InlineData("give either --clip and --head, --tiny or --real-size", "--clip", "c.safetensors")]
    [InlineData("give either --clip and --head, --tiny or --real-size", "--tiny", "--real-size")]
    [InlineData("--images is 0, must be positive", "--tiny", "--images", "0")]
    [InlineData("--keep goes with --tiny or --real-size, without --training", "--clip", "c.safetensors", "--head", "h.safetensors", "--keep", "kept")]
    [InlineData("--keep goes with --tiny or --real-size, without --training", "--training", "--tiny", "--keep", "kept")]
    public void BadArgumentsAreOneLineAndExitTwo(string expected, params string[] args)
    {
        var (exit, stdout, stderr) = CliProcess.Run(["bench", .. args]);
        Assert.Equal(2, exit);
        Assert.Equal($"bayespfl bench: {expected}", stderr.Trim());
        Assert.Empty(stdout);
    }

    [Fact]
    public void CudaWithoutADeviceIsOneLine()
    {
        if (BayesPfl.Host.Cuda.IsAvailable) Assert.Skip("a CUDA device is present: --device cuda is valid here");
        var (exit, _, stderr) = CliProcess.Run("bench", "--tiny", "--device", "cuda");
        Assert.Equal(2, exit);
        Assert.StartsWith("bayespfl bench: --device cuda: no CUDA device", stderr.Trim());
    }
}
