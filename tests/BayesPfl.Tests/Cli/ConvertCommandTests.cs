using BayesPfl.Engine.Model;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Weights.Torch.TorchArchiveFiles;

namespace BayesPfl.Tests.Cli;

public class ConvertCommandTests
{
    [Fact]
    public void ConvertsTheTinyHuggingFaceClipAndPrintsTheReport()
    {
        // The oracle's tiny CLIP (tests/reference/torch_archives.py): text width 32 needs explicit heads, image 56 -> 70.
        var output = Path.Combine(Repo.TempDir("cli-convert"), "clip.safetensors");
        var (exit, stdout, stderr) = CliProcess.Run("convert", File("hf.safetensors"), "--out", output, "--image-size", "70", "--text-heads", "2", "--bf16");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("format: HuggingFace safetensors", stdout);
        Assert.Matches(@"written: \d+ tensors, [\d,]+ parameters \(bf16\)", stdout);
        Assert.Contains("grid 4 -> 5", stdout);
        Assert.Contains("dropped: ", stdout);
        using var file = SafeTensorsFile.Open(output);
        Assert.Equal(70, ClipConfig.FromJson(file.Metadata[ClipConfig.MetadataKey]).Vision.ImageSize);
        Assert.Equal(Names("expect16").Count(), file.Entries.Count);
        Assert.All(file.Entries, e => Assert.Equal(StDType.BF16, e.DType));
    }

    [Fact]
    public void ArchitectureProblemsNameTheFlagThatFixesThem()
    {
        var dir = Repo.TempDir("cli-convert");
        var (exit, _, stderr) = CliProcess.Run("convert", File("hf.safetensors"), "--out", Path.Combine(dir, "clip.safetensors"), "--image-size", "70");
        Assert.NotEqual(0, exit);
        Assert.Contains("cannot infer the text heads: width 32 is not a multiple of 64; set --text-heads", stderr);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void NonexistentInputFailsWithOneLineAndNoOutput()
    {
        var dir = Repo.TempDir("cli-convert");
        var output = Path.Combine(dir, "clip.safetensors");
        var input = Path.Combine(dir, "missing.pt");
        var (exit, stdout, stderr) = CliProcess.Run("convert", input, "--out", output);
        Assert.NotEqual(0, exit);
        Assert.Equal($"bayespfl convert: {input}: checkpoint not found", stderr.Trim());
        Assert.Empty(stdout.Trim());
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void NotACheckpointFailsWithOneLineAndNoOutput()
    {
        var dir = Repo.TempDir("cli-convert");
        var input = Path.Combine(dir, "notes.pt");
        System.IO.File.WriteAllText(input, "not a checkpoint");
        var (exit, _, stderr) = CliProcess.Run("convert", input, "--out", Path.Combine(dir, "clip.safetensors"));
        Assert.NotEqual(0, exit);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith($"bayespfl convert: {input}", stderr.Trim());
        Assert.Equal([input], Directory.EnumerateFileSystemEntries(dir));
    }
}
