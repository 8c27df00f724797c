using BayesPfl.Engine.Validation;
using BayesPfl.Tests.Detection;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Validation;

/// <summary>pipeline_oracle.py's dump (two images, injected noise) validated end to end: every stage of every image.</summary>
public class PipelineValidationTests(PipelineOracleFixture fx, ITestOutputHelper output) : IClassFixture<PipelineOracleFixture>
{
    private static readonly string[] Stages = ["g", "taps", "prompt_blocks", "text", "p_img", "map", "s_map"];

    [Fact]
    public void PipelineDumpPassesAtEveryStage()
    {
        var report = Validator.Run(fx.Debug.Path, null, null, TestBackends.Cpu);
        foreach (var c in report.Checks) output.WriteLine($"{c.Name}: max abs {c.MaxAbs:G3}, nmse {c.Nmse:G3}, limit use {c.Limit:G3}");
        Assert.Equal(DumpKind.Pipeline, report.Kind);
        Assert.Equal(fx.HeadPath, report.HeadPath);
        Assert.Equal(Stages.Select(s => "0." + s).Concat(Stages.Select(s => "1." + s)), report.Checks.Select(c => c.Name));
        Assert.All(report.Checks, c => Assert.True(c.Passed, $"{c.Name}: {c.Problem} limit {c.Limit} nmse {c.Nmse}"));
        Assert.Empty(report.NotChecked);
    }

    [Fact]
    public void ACorruptedMapFailsAndIsNamed()
    {
        // 1e-3 on one map value of [0,1]: 10x the score tolerance.
        var copy = DumpFixture.Copy(fx.Debug.Path, tensor: "1.map", change: v => v[123] += 1e-3f);
        var report = Validator.Run(copy, fx.ClipPath, fx.HeadPath, TestBackends.Cpu);
        var failed = Assert.Single(report.Checks, c => !c.Passed);
        Assert.Equal("1.map", failed.Name);
        Assert.Equal(123, failed.Worst);
    }

    [Fact]
    public void ADumpWithoutItsInputsIsAClearError()
    {
        var old = DumpFixture.Copy(fx.Debug.Path, drop: ["in.images"]);
        var e = Assert.Throws<InvalidDataException>(() => Validator.Run(old, fx.ClipPath, fx.HeadPath, TestBackends.Cpu));
        Assert.Contains("the pipeline needs tensor in.images", e.Message);

        var noOutputs = DumpFixture.Copy(fx.Debug.Path, drop: [.. Stages.Select(s => "0." + s), .. Stages.Select(s => "1." + s)]);
        e = Assert.Throws<InvalidDataException>(() => Validator.Run(noOutputs, fx.ClipPath, fx.HeadPath, TestBackends.Cpu));
        Assert.Contains("a pipeline dump without outputs", e.Message);
    }
}
