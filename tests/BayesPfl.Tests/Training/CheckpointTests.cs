using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Training;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>Training checkpoints: bitwise round trip through an optimizer, and clear errors on damaged files.</summary>
public class CheckpointTests
{
    [Fact]
    public void RoundTripsBitwise()
    {
        using var cpu = TestBackends.Cpu();
        var (opt, control) = Trained(cpu);
        var path = Path.Combine(Repo.TempDir("ckpt"), "train.safetensors");
        byte[] rng = [1, 2, 3, 250];
        TrainingCheckpoint.Save(path, TrainingCheckpoint.Capture(opt, control, rng));

        var (opt2, control2) = Fresh(cpu);
        var state = TrainingCheckpoint.Load(path);
        TrainingCheckpoint.Restore(state, opt2, control2, path);
        Assert.Equal(opt.Step, opt2.Step);
        Assert.Equal(rng, state.Rng);
        Assert.Equal((control.Stage, control.Best, control.Bad, control.EpochsDone), (control2.Stage, control2.Best, control2.Bad, control2.EpochsDone));
        for (var i = 0; i < opt.Slots.Count; i++)
        {
            foreach (var (a, b) in new[] { (opt.Slots[i].Param, opt2.Slots[i].Param), (opt.Slots[i].M, opt2.Slots[i].M), (opt.Slots[i].V, opt2.Slots[i].V) })
                TensorAssert.BitwiseEqual(a.Name, Read(a), Read(b));
        }
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("flip")]
    public void DetectsDamage(string damage)
    {
        using var cpu = TestBackends.Cpu();
        var (opt, control) = Trained(cpu);
        var path = Path.Combine(Repo.TempDir("ckpt"), "damaged.safetensors");
        TrainingCheckpoint.Save(path, TrainingCheckpoint.Capture(opt, control, []));
        var bytes = File.ReadAllBytes(path);
        if (damage == "truncate") File.WriteAllBytes(path, bytes[..^5]);
        else
        {
            bytes[^3] ^= 0x10; // one bit of the last tensor's data
            File.WriteAllBytes(path, bytes);
        }
        var e = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("corrupt or truncated", e.Message);
    }

    private static (AdamOptimizer, StageControl) Fresh(Engine.Backends.IBackend b)
    {
        var opt = new AdamOptimizer();
        foreach (var (name, n) in new[] { ("prompt_context", 30), ("temperature_pixel", 1), ("RCA.q_proj_pre.bias", 7) })
            opt.Add(name, b.Allocate(new Shape(n), name), b.Allocate(new Shape(n), name + ".grad"), ParamGroups.BaseLr(ParamGroups.Of(name)));
        return (opt, new StageControl());
    }

    private static (AdamOptimizer, StageControl) Trained(Engine.Backends.IBackend b)
    {
        var (opt, control) = Fresh(b);
        for (var s = 0; s < 3; s++)
        {
            foreach (var slot in opt.Slots) b.Upload(slot.Grad, FiniteDiff.RandomFloats((int)slot.Grad.Length, 100 + s));
            opt.Update(1.0);
        }
        control.OnEpoch(0.4);
        control.OnEpoch(0.3);
        return (opt, control);
    }

    private static float[] Read(Tensor t)
    {
        var v = new float[t.Length];
        t.Backend.Download(t, v);
        return v;
    }
}
