using BayesPfl.Engine.Validation;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Validation;

public class ValidatorTests(DumpFixture fx, ITestOutputHelper output) : IClassFixture<DumpFixture>
{
    [Fact]
    public void TowersDumpPassesOnTheCpuWithEveryOutputCompared()
    {
        var report = Validator.Run(fx.TowersPath, null, null, TestBackends.Cpu);
        foreach (var c in report.Checks) output.WriteLine($"{c.Name}: max abs {c.MaxAbs:G3}, nmse {c.Nmse:G3}, limit use {c.Limit:G3}");
        Assert.Equal(DumpKind.ClipTowers, report.Kind);
        Assert.Equal(fx.ClipPath, report.ClipPath);
        Assert.Equal(["out.tap.1", "out.tap.3", "out.global", "out.text", "out.text_spliced"], report.Checks.Select(c => c.Name));
        Assert.All(report.Checks, c => Assert.True(c.Passed, $"{c.Name}: {c.Problem} limit {c.Limit} nmse {c.Nmse}"));
        Assert.Empty(report.NotChecked);
        Assert.True(report.Passed);
    }

    [Fact]
    public void EmulatedCudaPassesTheTextTowers()
    {
        // The image tower at 42 px is ~10^6 emulated threads; the text part alone exercises the CUDA launchers here.
        var textOnly = DumpFixture.Copy(fx.TowersPath, drop: ["in.images", "out.tap.1", "out.tap.3", "out.global"]);
        var report = Validator.Run(textOnly, null, null, TestBackends.Emulated);
        Assert.Equal(["out.text", "out.text_spliced"], report.Checks.Select(c => c.Name));
        Assert.True(report.Passed);
    }

    [Theory]
    [InlineData("out.global")]
    [InlineData("out.tap.3")]
    [InlineData("out.text_spliced")]
    public void OneCorruptedTensorFailsAndIsNamed(string tensor)
    {
        // 1% on one element: ~50x what the tolerance allows for a single value, far below anything visible in the NMSE.
        var copy = DumpFixture.Copy(fx.TowersPath, tensor: tensor, change: v => v[v.Length / 2] += 0.01f * MathF.Max(1, MathF.Abs(v[v.Length / 2])));
        var report = Validator.Run(copy, fx.ClipPath, null, TestBackends.Cpu);
        Assert.False(report.Passed);
        var failed = Assert.Single(report.Checks, c => !c.Passed);
        Assert.Equal(tensor, failed.Name);
        Assert.Equal(failed.Shape.Aggregate(1L, (a, d) => a * d) / 2, failed.Worst);
    }

    [Fact]
    public void ARelativeWeightsPathResolvesBesideTheDump()
    {
        var copy = DumpFixture.Copy(fx.TowersPath, metadata: ("weights", "clip.safetensors"));
        var beside = Path.Combine(Path.GetDirectoryName(copy)!, "clip.safetensors");
        File.Copy(fx.ClipPath, beside);
        var report = Validator.Run(copy, null, null, TestBackends.Cpu);
        Assert.Equal(beside, report.ClipPath);
        Assert.True(report.Passed);
    }

    [Fact]
    public void AnEngineFileOrANonDumpIsAClearError()
    {
        var e = Assert.Throws<InvalidDataException>(() => Validator.Run(fx.ClipPath, null, null, TestBackends.Cpu));
        Assert.Contains("is a CLIP engine file", e.Message);
        Assert.Contains("--clip", e.Message);

        var other = Path.Combine(Repo.TempDir("validate-other"), "other.safetensors");
        new Engine.Weights.SafeTensorsWriter().Add("x", [1f, 2f], 2).Save(other);
        e = Assert.Throws<InvalidDataException>(() => Validator.Run(other, null, null, TestBackends.Cpu));
        Assert.Contains("is not a reference dump", e.Message);
        Assert.Contains("docs/reference-dumps.md", e.Message);

        var png = Path.Combine(Repo.TempDir("validate-other"), "image.png");
        File.WriteAllBytes(png, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);
        e = Assert.Throws<InvalidDataException>(() => Validator.Run(png, null, null, TestBackends.Cpu));
        Assert.Contains(png, e.Message);
    }

    [Fact]
    public void MissingOutputsOrWeightsAreClearErrors()
    {
        var noOutputs = DumpFixture.Copy(fx.TowersPath, drop: ["out.tap.1", "out.tap.3", "out.global"]);
        var e = Assert.Throws<InvalidDataException>(() => Validator.Run(noOutputs, fx.ClipPath, null, TestBackends.Cpu));
        Assert.Contains("neither out.tap.{l} nor out.global", e.Message);

        var noText = DumpFixture.Copy(fx.TowersPath, drop: ["out.text"]);
        e = Assert.Throws<InvalidDataException>(() => Validator.Run(noText, fx.ClipPath, null, TestBackends.Cpu));
        Assert.Contains("in.ids needs tensor out.text", e.Message);

        var lost = DumpFixture.Copy(fx.TowersPath, metadata: ("weights", "/nonexistent/clip.safetensors"));
        var missing = Assert.Throws<FileNotFoundException>(() => Validator.Run(lost, null, null, TestBackends.Cpu));
        Assert.Contains("give the file with --clip", missing.Message);
    }
}
