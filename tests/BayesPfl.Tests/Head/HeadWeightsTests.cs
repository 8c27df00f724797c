using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Head;

/// <summary>The head's name table and loader: re-layouts, skipped dead tensors, one error listing every problem.</summary>
public class HeadWeightsTests
{
    // A tiny head keeps the files small; the table is derived from the config, so the names are the real ones.
    private static readonly HeadConfig Tiny = new() { Embed = 8, Hidden = 4, VisionWidth = 3, Steps = 2, Bank = 1, Tokens = 2, FuseHidden = 5, RcaHeads = 2 };

    private static string Write(Action<SafeTensorsWriter> edit, string tag)
    {
        var w = new SafeTensorsWriter();
        var seed = 1;
        foreach (var (name, (shape, _)) in HeadWeights.Table(Tiny))
        {
            var n = shape.Aggregate(1, (a, d) => a * d);
            w.Add(name, FiniteDiff.RandomFloats(n, seed++), shape);
        }
        edit(w);
        var path = System.IO.Path.Combine(Repo.TempDir("head-weights"), tag + ".safetensors");
        w.Save(path);
        return path;
    }

    [Fact]
    public void LoadsSqueezesSplitsAndSkipsDeadTensors()
    {
        var path = Write(w => w.Add("state_decoder.weight_mean.module.0.weight", new float[12], 4, 3).Add("PFL_normal.p_mu.0.bias", new float[8], 8), "ok");
        using var file = SafeTensorsFile.Open(path);
        using var be = TestBackends.Cpu();
        using var weights = HeadWeights.Load(be, file, Tiny);
        Assert.Equal(new[] { 8, 8 }, weights["RCA.q_proj_pre.weight"].Shape.Dims.ToArray());
        Assert.Equal(new[] { 1, 2, 8 }, weights["PFL_normal.amor_w"].Shape.Dims.ToArray());
        Assert.Equal(new[] { 1, 2 }, weights["PFL_abnormal.amor_b"].Shape.Dims.ToArray());
        Assert.Equal(file.ReadFloats("temperature_pixel")[0], weights.TauPixel);
        Assert.DoesNotContain(weights.Names, n => n.Contains("decoder") || n.Contains("p_mu"));
        // fuse weight [Hf=5, 4·Cv=12] → [4, 5, 3]: block j row r = file row r, columns 3j..3j+2.
        var src = file.ReadFloats("fuse.fuse_modules.weight");
        var dst = HeadOps.Get(be, weights["fuse.fuse_modules.weight"]);
        for (var j = 0; j < 4; j++)
            for (var r = 0; r < 5; r++)
                for (var c = 0; c < 3; c++)
                    Assert.Equal(src[r * 12 + j * 3 + c], dst[(j * 5 + r) * 3 + c]);
    }

    [Fact]
    public void ListsEveryProblemAtOnce()
    {
        var good = Write(_ => { }, "good");
        using var goodFile = SafeTensorsFile.Open(good);
        var bad = new SafeTensorsWriter();
        foreach (var e in goodFile.Entries)
        {
            if (e.Name == "class_mapping.bias" || e.Name == "RCA.linear_proj.3.weight") continue;
            var shape = e.Name == "PFL_normal.amor_u" ? new[] { 1, 2, 8 } : e.Shape;
            bad.Add(e.Name, new float[shape.Aggregate(1, (a, d) => a * d)], shape);
        }
        bad.Add("RCA.out_proj.weight", new float[4], 2, 2);
        var path = System.IO.Path.Combine(Repo.TempDir("head-weights"), "bad.safetensors");
        bad.Save(path);
        using var file = SafeTensorsFile.Open(path);
        using var be = TestBackends.Cpu();
        var e2 = Assert.Throws<InvalidDataException>(() => HeadWeights.Load(be, file, Tiny));
        Assert.Contains("4 problems", e2.Message);
        Assert.Contains("missing class_mapping.bias [8]", e2.Message);
        Assert.Contains("missing RCA.linear_proj.3.weight [8,3]", e2.Message);
        Assert.Contains("mis-shaped PFL_normal.amor_u: [1,2,8], expected [1,2,8,1]", e2.Message);
        Assert.Contains("extra RCA.out_proj.weight [2,2]", e2.Message);
        Assert.Contains(path, e2.Message);
    }
}
