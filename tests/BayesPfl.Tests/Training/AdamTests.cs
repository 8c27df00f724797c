using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Training;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>Adam and the LR schedule against torch.optim.Adam + LambdaLR; the kernel against the CPU reference.</summary>
public class AdamTests
{
    private static readonly int[] Sizes = [5, 2, 7, 13];
    private static readonly double[] Lrs = [1e-3, 1e-2, 1e-3, 1e-4];

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 12)]
    public void TenStepsMatchTorchAdamWithLambdaLr(int itersPerEpoch, int steps)
    {
        using var f = Oracle.Run("losses_oracle.py", "--op", "adam", "--iters", $"{itersPerEpoch}", "--steps", $"{steps}");
        using var cpu = TestBackends.Cpu();
        var schedule = new LrSchedule(itersPerEpoch);
        var opt = new AdamOptimizer();
        var grads = new Tensor[Sizes.Length];
        for (var i = 0; i < Sizes.Length; i++)
        {
            var p = cpu.Allocate(new Shape(Sizes[i]), $"p{i}");
            cpu.Upload(p, f.ReadFloats($"p{i}_init"));
            grads[i] = cpu.Allocate(p.Shape, $"g{i}");
            opt.Add($"p{i}", p, grads[i], Lrs[i]);
        }
        var lr = f.ReadFloats("lr");
        for (var s = 0; s < steps; s++)
        {
            var mult = schedule.ForUpdate(s + 1);
            for (var i = 0; i < Sizes.Length; i++)
            {
                // LambdaLR stores base_lr·λ in double; the file holds it as float64 → read as float.
                Assert.Equal(lr[s * Sizes.Length + i], (float)(Lrs[i] * mult));
                cpu.Upload(grads[i], f.ReadFloats($"g{i}_step{s}"));
            }
            opt.Update(mult);
            for (var i = 0; i < Sizes.Length; i++)
            {
                var got = new float[Sizes[i]];
                cpu.Download(opt.Slots[i].Param, got);
                // Same float operation order as torch's CPU kernels, but torch's vectorised add_ may fuse
                // into an FMA; one rounding per step over 10 steps of updates of size ≤ lr·(1+…) leaves a few
                // ulp of the parameters (|p| ~ 1, ulp 1.2e-7).
                TensorAssert.Close($"p{i} after step {s}", got, f.ReadFloats($"p{i}_step{s}"), 1e-6, 1e-6);
            }
        }
    }

    [Fact]
    public void ScheduleFollowsSpecAndLambdaLrStepping()
    {
        var visa = new LrSchedule(68);
        Assert.Equal(204, visa.WarmupSteps);
        Assert.Equal(2040, visa.TotalSteps);
        Assert.Equal(162, new LrSchedule(54).WarmupSteps);
        Assert.Equal(0.0, visa.ForUpdate(1)); // the first update runs with λ(0) = 0
        Assert.Equal(1.0 / 204, visa.ForUpdate(2), 1e-15);
        Assert.Equal(1.0, visa.Multiplier(204), 1e-15);
        Assert.Equal(0.5, visa.Multiplier(204 + 918), 1e-12);
        Assert.Equal(0.0, visa.Multiplier(2040));
    }

    [Fact]
    public void EmulatedKernelMatchesCpuBitwiseAndReruns()
    {
        const int N = 1037;
        using var cpu = TestBackends.Cpu();
        using var emu = TestBackends.Emulated();
        var a = Steps(cpu, N);
        var b = Steps(emu, N);
        // Both evaluate the same float operations in the same order without FMA contraction (the kernel
        // uses __fmul_rn/__fadd_rn; C# never contracts), so the results are identical bit for bit.
        TensorAssert.BitwiseEqual("adam emulated vs cpu", b, a);
        TensorAssert.BitwiseEqual("adam rerun", Steps(emu, N), b);
    }

    private static float[] Steps(IBackend b, int n)
    {
        using var p = b.Allocate(new Shape(n), "p");
        using var g = b.Allocate(new Shape(n), "g");
        b.Upload(p, FiniteDiff.RandomFloats(n, 1));
        var opt = new AdamOptimizer();
        opt.Add("p", p, g, 1e-3);
        for (var s = 1; s <= 3; s++)
        {
            b.Upload(g, FiniteDiff.RandomFloats(n, 10 + s, 0.1f));
            opt.Update(0.5 + 0.1 * s);
        }
        var result = new float[3 * n];
        b.Download(p, result.AsSpan(0, n));
        b.Download(opt.Slots[0].M, result.AsSpan(n, n));
        b.Download(opt.Slots[0].V, result.AsSpan(2 * n, n));
        return result;
    }
}
