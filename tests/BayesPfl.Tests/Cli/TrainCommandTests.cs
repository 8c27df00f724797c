using BayesPfl.Engine.Data.Synthetic;
using BayesPfl.Engine.Model;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Cli;

/// <summary>`bayespfl train` as a user runs it: option errors, bad paths, and a run on generated data.</summary>
public class TrainCommandTests
{
    [Theory]
    [InlineData("--source-only-validation --validation-root V", "--source-only-validation and --validation-root exclude each other")]
    [InlineData("--validation-categories bottle", "--validation-dataset and --validation-categories need --validation-root")]
    [InlineData("--validation-dataset visa", "--validation-dataset and --validation-categories need --validation-root")]
    [InlineData("--epochs 0", "--epochs must be 1..30")]
    [InlineData("--epochs 31", "--epochs must be 1..30")]
    [InlineData("--batch 0", "--batch must be at least 1")]
    [InlineData("--dataset imagenet", "imagenet")]
    public void BadOptionsAreRefusedBeforeAnythingRuns(string extra, string message)
    {
        var dir = Repo.TempDir("cli-train");
        var output = Path.Combine(dir, "out");
        var (exit, stdout, stderr) = CliProcess.Run(["train", "--root", dir, "--clip", "c", "--out", output, .. extra.Split(' ')]);
        Assert.True(exit != 0, $"exit 0:\n{stdout}");
        Assert.Contains(message, stderr + stdout);
        Assert.False(Directory.Exists(output), "nothing may be written when the options are wrong");
    }

    [Fact]
    public void RequiredOptionsAreNamed()
    {
        var (exit, stdout, stderr) = CliProcess.Run("train", "--clip", "c");
        Assert.NotEqual(0, exit);
        Assert.Contains("--root", stderr + stdout);
        Assert.Contains("--out", stderr + stdout);
    }

    [Fact]
    public void MissingDatasetOrCheckpointIsOneClearLine()
    {
        var dir = Repo.TempDir("cli-train");
        var output = Path.Combine(dir, "out");
        var (exit, _, stderr) = CliProcess.Run("train", "--root", Path.Combine(dir, "nope"), "--clip", "c", "--out", output);
        Assert.Equal(1, exit);
        Assert.StartsWith("bayespfl train: ", stderr.Trim());
        Assert.Contains("nope", stderr);

        (exit, _, stderr) = CliProcess.Run("train", "--root", dir, "--clip", "c", "--out", output, "--resume", Path.Combine(dir, "epoch_3.safetensors"));
        Assert.Equal(1, exit);
        Assert.Equal($"bayespfl train: --resume {Path.Combine(dir, "epoch_3.safetensors")}: no such checkpoint", stderr.Trim());
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void RunsOnGeneratedDataAndResumesBitIdentically()
    {
        var dir = Repo.TempDir("cli-train");
        var data = Path.Combine(dir, "data");
        SyntheticDataset.Generate(data, new SyntheticOptions { Seed = 2, Size = 56, PerCategory = 2, Groups = ["A"] });
        var clip = Path.Combine(dir, "clip.safetensors");
        RandomClip.Write(clip, RandomClip.Tiny with { Vision = RandomClip.Tiny.Vision with { ImageSize = 56 } }, 5);
        string[] Args(string output, int epochs) => ["train", "--dataset", "mvtec", "--root", data, "--clip", clip, "--out", output,
            "--categories", "wood,disc", "--epochs", epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch", "8", "--device", "cpu"];

        var whole = Path.Combine(dir, "whole");
        var (exit, stdout, stderr) = CliProcess.Run(Args(whole, 2));
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        foreach (var f in new[] { "best.head.safetensors", "final.head.safetensors", "train-log.jsonl", "checkpoints/epoch_0.safetensors", "checkpoints/epoch_1.safetensors" })
            Assert.True(File.Exists(Path.Combine(whole, f)), f);
        Assert.Contains("epoch 2/2 stage 1", stdout);

        // One epoch, then a second run resuming from its checkpoint: the real step, loader and validation
        // must reproduce the uninterrupted run's parameters bit for bit.
        var parts = Path.Combine(dir, "parts");
        (exit, stdout, stderr) = CliProcess.Run(Args(parts, 1));
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        (exit, stdout, stderr) = CliProcess.Run([.. Args(parts, 2), "--resume", Path.Combine(parts, "checkpoints", "epoch_0.safetensors")]);
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("resumed from", stdout);
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "checkpoints", "epoch_1.safetensors")), File.ReadAllBytes(Path.Combine(parts, "checkpoints", "epoch_1.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "final.head.safetensors")), File.ReadAllBytes(Path.Combine(parts, "final.head.safetensors")));

        // The trained head records its CLIP file (relative to the head), so `infer --model HEAD` needs nothing else.
        var image = Directory.EnumerateFiles(Path.Combine(data, "wood", "test", "hole")).First();
        (exit, stdout, stderr) = CliProcess.Run("infer", image, "--model", Path.Combine(whole, "final.head.safetensors"), "--class", "wood", "--device", "cpu");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("p_img=", stdout);
        var moved = Path.Combine(dir, "elsewhere", "deeper", "final.head.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(moved)!);
        File.Copy(Path.Combine(whole, "final.head.safetensors"), moved);
        (exit, _, stderr) = CliProcess.Run("infer", image, "--model", moved, "--device", "cpu");
        Assert.Equal(1, exit);
        Assert.Contains("does not exist; give --clip", stderr);
        (exit, stdout, stderr) = CliProcess.Run("infer", image, "--model", moved, "--clip", clip, "--device", "cpu");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
    }

    [Fact]
    public void AMissingMaskStopsTrainingBeforeItStartsUnlessAllowed()
    {
        var dir = Repo.TempDir("cli-train-masks");
        var data = Path.Combine(dir, "data");
        SyntheticDataset.Generate(data, new SyntheticOptions { Seed = 3, Size = 56, PerCategory = 2, Groups = ["A"] });
        var lost = Path.Combine(data, "wood", "ground_truth", "hole", "000_mask.png");
        File.Delete(lost);
        var clip = Path.Combine(dir, "clip.safetensors");
        RandomClip.Write(clip, RandomClip.Tiny with { Vision = RandomClip.Tiny.Vision with { ImageSize = 56 } }, 5);
        string[] Args(string output) => ["train", "--dataset", "mvtec", "--root", data, "--clip", clip, "--out", output,
            "--categories", "wood", "--epochs", "1", "--batch", "8", "--device", "cpu"];

        var refused = Path.Combine(dir, "refused");
        var (exit, _, stderr) = CliProcess.Run(Args(refused));
        Assert.NotEqual(0, exit);
        Assert.Contains("000.png has no mask", stderr);
        Assert.False(Directory.Exists(Path.Combine(refused, "checkpoints")), "nothing may be written before the data is checked");

        var allowed = Path.Combine(dir, "allowed");
        (exit, var stdout, stderr) = CliProcess.Run([.. Args(allowed), "--allow-missing-masks"]);
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("warning", stderr);
        Assert.Contains("000.png", stderr);
        Assert.True(File.Exists(Path.Combine(allowed, "final.head.safetensors")));
    }
}
