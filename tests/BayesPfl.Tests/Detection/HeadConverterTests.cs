using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Weights;
using BayesPfl.Engine.Weights.Convert;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Detection;

/// <summary>A real torch.save checkpoint with the released files' aliasing (pipeline_oracle.py --checkpoint-only).</summary>
public sealed class HeadCheckpointFixture : IDisposable
{
    public HeadCheckpointFixture()
    {
        using var meta = Oracle.Run("pipeline_oracle.py", "--checkpoint-only", "--width", "64");
        Checkpoint = meta.Metadata["checkpoint"];
        Reference = SafeTensorsFile.Open(meta.Metadata["head"]);
    }

    public string Checkpoint { get; }

    /// <summary>The same weights as written by bayes_head.py, under plain names.</summary>
    public SafeTensorsFile Reference { get; }

    public void Dispose() => Reference.Dispose();
}

public class HeadConverterTests(HeadCheckpointFixture fx) : IClassFixture<HeadCheckpointFixture>
{
    [Fact]
    public void TorchSaveCheckpointConvertsToTheHeadFile()
    {
        var output = Path.Combine(Repo.TempDir("head-convert"), "head.safetensors");
        var report = HeadConverter.Convert(fx.Checkpoint, output);
        Assert.Equal("torch.save", report.SourceFormat);
        Assert.Equal(new HeadConfig { VisionWidth = 64 }, report.Config);
        using var file = SafeTensorsFile.Open(output);
        Assert.Equal(HeadConverter.FormatValue, file.Metadata["bayespfl.format"]);
        var table = HeadWeights.Table(report.Config);
        Assert.Equal(table.Keys.Order(), file.Entries.Select(e => e.Name).Order());
        foreach (var name in table.Keys)
            TensorAssert.BitwiseEqual(name, file.ReadFloats(name), fx.Reference.ReadFloats(name));
        // Dead decoders and p_mu, and every alias path of the shared encoders, are dropped and listed.
        Assert.Contains("context_decoder.weight_mean.module.0.weight", report.Dropped);
        Assert.Contains("PFL_abnormal.p_mu.0.bias", report.Dropped);
        Assert.Contains("PFL_normal.encoder.weight_log_variance.module.4.weight", report.Dropped);
        Assert.Contains("PFL_context.decoder.weight_mean.module.2.bias", report.Dropped);
        Assert.DoesNotContain(report.Dropped, table.ContainsKey);
        using var backend = new CpuBackend();
        using var loaded = HeadWeights.Load(backend, file, report.Config);
        Assert.Equal(table.Count - 2, loaded.Names.Count());   // the two temperatures are scalars, not tensors
    }

    [Fact]
    public void IncompleteCheckpointIsRejectedNamingFileAndTensor()
    {
        var dir = Repo.TempDir("head-convert-bad");
        var input = Path.Combine(dir, "partial.safetensors");
        new SafeTensorsWriter()
            .Add("prompt_context", fx.Reference.ReadFloats("prompt_context"), 3, 5, 768)
            .Add("RCA.linear_proj.0.weight", new float[768 * 64], 768, 64)
            .Add("mystery", new float[4], 4)
            .Save(input);
        var output = Path.Combine(dir, "head.safetensors");
        var e = Assert.Throws<InvalidDataException>(() => HeadConverter.Convert(input, output));
        Assert.Contains("partial.safetensors", e.Message);
        Assert.Contains("no tensor 'context_encoder.weight_mean.module.0.weight'", e.Message);
        Assert.False(File.Exists(output));
    }
}

public class HeadConvertCommandTests(HeadCheckpointFixture fx) : IClassFixture<HeadCheckpointFixture>
{
    [Fact]
    public void ConvertRecognisesAHeadCheckpoint()
    {
        var output = Path.Combine(Repo.TempDir("cli-convert-head"), "head.safetensors");
        var (exit, stdout, stderr) = Cli.CliProcess.Run("convert", fx.Checkpoint, "--out", output);
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("format: torch.save (Bayes-PFL head)", stdout);
        using var file = SafeTensorsFile.Open(output);
        Assert.True(file.Contains("prompt_context"));
    }
}
