using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Text;
using BayesPfl.Engine.Training;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>
/// The training oracle itself: its own checks pass, its files load in the engine, its data follow the spec's
/// conventions, and the engine's vision tower reproduces the features it trained on. (The TrainStep comparison
/// against <see cref="TrainOracleCase"/> lives with TrainStep.)
/// </summary>
public class TrainOracleTests(TrainOracleCase c) : IClassFixture<TrainOracleCase>
{
    [Fact]
    public void AutogradAgreesWithFiniteDifferencesAndTheTowersWithClipTowers()
    {
        // Central differences in float64 (h = 1e-5) on an O(10) loss: truncation ~1e-10, rounding ~1e-11;
        // measured agreement ~1e-10. The script asserts the same bound; a gradient bug is off by >= 1e-3.
        TensorAssert.Close("autograd vs finite differences", c.Doubles("check.fd.autograd"), c.Doubles("check.fd.numeric"), 1e-7, 1e-5);
        // float64 towers vs clip_towers.py's float32 ones: fp32 rounding of O(1..10) values over 4 blocks, measured <= 3e-6.
        Assert.All(c.Doubles("check.clip.err"), e => Assert.InRange(e, 0, 1e-4));
    }

    [Fact]
    public void LossesAddUpAndTheScheduleIsTheEngines()
    {
        var schedule = new LrSchedule(c.ItersPerEpoch);
        ParamGroup[] groups = [ParamGroup.Prompts, ParamGroup.Temperatures, ParamGroup.Flow, ParamGroup.Rest];
        var total = c.Curve("total");
        Assert.Equal(c.Steps, total.Length);
        for (var t = 0; t < c.Steps; t++)
        {
            var l = c.Losses(t);
            // Float64 sums of ~12 O(1) terms in another order: 1e-12 relative is dozens of ulps.
            Assert.Equal(total[t], l.Total, total[t] * 1e-12);
            Assert.All(new[] { l.Cls, l.Dist, l.Orth }.Concat(l.Focal).Concat(l.Dice), v => Assert.True(double.IsFinite(v) && v >= 0, $"step {t}: loss term {v}"));
            var lr = c.LearningRates(t);
            for (var g = 0; g < groups.Length; g++)
                Assert.Equal(ParamGroups.BaseLr(groups[g]) * schedule.ForUpdate(t + 1), lr[g], 1e-15);
        }
        Assert.All(c.LearningRates(0), lr => Assert.Equal(0.0, lr));   // LambdaLR: update 1 runs with λ(0) = 0
    }

    [Fact]
    public void TheEngineLoadsBothFilesAndTheParameterList()
    {
        using var cpu = new CpuBackend();
        using var clipFile = SafeTensorsFile.Open(c.ClipPath);
        using var clip = ClipWeights.Load(clipFile, cpu);
        using var headFile = SafeTensorsFile.Open(c.HeadPath);
        using var head = HeadParameters.Load(cpu, headFile);
        Assert.False(head.Config.Stage2);
        HeadFile.CheckAgainst(head.Config, clip.Config, c.HeadPath, c.ClipPath);
        Assert.Equal(HeadFile.TapLayers(clip.Config.Vision.Layers, head.Config.Taps), c.TapLayers);
        Assert.Equal((c.Embed, c.Taps, c.Bank), (head.Config.Embed, head.Config.Taps, head.Config.Bank));
        Assert.Equal(head.Names, c.ParameterNames);
        foreach (var name in head.Names)
        {
            Assert.Equal(head[name].Shape.Dims.ToArray(), c.Grad0Shape(name));
            Assert.Equal(c.Grad0(name).Length, c.FinalParameter(name).Length);
        }
    }

    [Fact]
    public void BatchesFollowTheSpecConventions()
    {
        int n = c.BatchSize, s = c.ImageSize;
        for (var t = 0; t < c.Steps; t++)
        {
            var batch = c.Batch(t);
            Assert.Equal((n * 3 * s * s, n * s * s, n), (batch.Images.Length, batch.Masks.Length, batch.Count));
            Assert.Contains(0, batch.Labels);
            Assert.Contains(1, batch.Labels);
            Assert.InRange(c.BankIndex(t), 0, c.Bank - 1);
            Assert.Equal((n + 2) * c.Embed, c.Noise(t).Length);
            var ids = c.Ids(t);
            for (var i = 0; i < n; i++)
            {
                var mask = batch.Masks.AsSpan(i * s * s, s * s).ToArray();
                Assert.All(mask, v => Assert.True(v is 0f or 1f));
                Assert.Equal(batch.Labels[i] == 1, mask.Any(v => v == 1f));
                // The oracle's ids are the engine tokenizer's for the image's prompt name.
                Assert.Equal(ClipTokenizer.Default.Tokenize(ClassNames.Prompt(batch.ClassNames[i])).Select(x => (long)x), ids.Skip(i * 77).Take(77));
            }
        }
        Assert.Equal(2, c.Classes.Length);
    }

    [Fact]
    public void StageOneGradientsReachEveryTrainedTensorAndNothingElse()
    {
        foreach (var name in c.ParameterNames)
        {
            var g = c.Grad0(name);
            TensorAssert.AllFinite(name, g);
            if (ParamGroups.InStageTwo(name) && !name.StartsWith("class_mapping.", StringComparison.Ordinal))
                Assert.True(g.All(v => v == 0), $"{name}: stage 1 must not touch fuse or image_mapping");
            else
                Assert.True(g.Any(v => v != 0), $"{name}: no gradient at step 0");
        }
        // L_orth involves all bank entries (spec 14.11), so every prompt row gets a gradient, not only b*'s.
        var bank = c.Grad0("prompt_context");
        var per = bank.Length / c.Bank;
        for (var b = 0; b < c.Bank; b++)
            Assert.True(bank.AsSpan(b * per, per).ToArray().Any(v => v != 0), $"prompt_context[{b}] has no gradient");
    }

    [Fact]
    public void TheEngineVisionTowerReproducesStepZeroFeatures()
    {
        using var cpu = new CpuBackend();
        using var clipFile = SafeTensorsFile.Open(c.ClipPath);
        using var clip = ClipWeights.Load(clipFile, cpu);
        using var tower = new VisionTower(cpu, clip);
        using var images = cpu.Allocate(new Shape(c.BatchSize, 3, c.ImageSize, c.ImageSize), "images");
        cpu.Upload(images, c.Batch(0).Images);
        using var f = tower.Encode(images, c.TapLayers);
        // fp32 engine vs the float64 oracle on the same fp32 weights: fp32 rounding over 4 blocks of O(1..10)
        // values (clip_towers.py's fp32 towers are <= 3e-6 from these, check.clip.err); a wrong tap layer or image is O(1) off.
        TensorAssert.Close("g", Download(f.Global), c.Step0Global, 2e-5, 2e-5);
        var taps = c.Step0Taps;
        var per = taps.Length / c.Taps;
        for (var j = 0; j < c.Taps; j++)
            TensorAssert.Close($"tap {c.TapLayers[j]}", Download(f.Taps[j]), taps.AsSpan(j * per, per), 2e-5, 2e-5);
    }

    private static float[] Download(Tensor t)
    {
        var data = new float[t.Length];
        t.Backend.Download(t, data);
        return data;
    }
}
