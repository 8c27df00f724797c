using BayesPfl.Engine.Backends;
using BayesPfl.Tests.Head;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Model;

/// <summary>EmbeddingBackward: the gradient w.r.t. the spliced prompt rows (spec 4.4), CPU vs differences and kernels.</summary>
public class EmbeddingBackwardTests
{
    private const int Vocab = 11;

    /// <summary>Ids of n prompts of length T: table rows, the J slots spliced in order after SOS, and for sample 1
    /// also a slot used twice and one never used (its gradient must be zero).</summary>
    private static float[] Ids(int n, int t, int j, int seed)
    {
        var rng = new Random(seed);
        var ids = Enumerable.Range(0, n * t).Select(_ => (float)rng.Next(0, Vocab)).ToArray();
        for (var s = 0; s < j && 1 + s < t; s++) ids[1 + s] = -1 - s;
        if (n > 1 && t > 3 && j > 1)
        {
            ids[t + 1] = -1;
            ids[t + t - 1] = -1;
            ids[t + 2] = -j;
        }
        return ids;
    }

    [Fact]
    public void CpuMatchesFiniteDifferences()
    {
        const int n = 2, t = 6, c = 3, j = 3;
        var ids = Ids(n, t, j, 1);
        var table = FiniteDiff.RandomFloats(Vocab * c, 2);
        var pos = FiniteDiff.RandomFloats(t * c, 3);
        var inject = FiniteDiff.RandomFloats(n * j * c, 4);
        var dy = FiniteDiff.RandomFloats(n * t * c, 5);
        using var cpu = TestBackends.Cpu();
        using var tIds = Put(cpu, "ids", ids, n, t);
        using var tTable = Put(cpu, "table", table, Vocab, c);
        using var tPos = Put(cpu, "pos", pos, t, c);
        using var y = cpu.Allocate(new(n, t, c), "y");
        double Loss()
        {
            using var tInj = Put(cpu, "inject", inject, n, j, c);
            cpu.Embedding(y, tIds, tTable, tPos, tInj);
            return FiniteDiff.Dot(ToDouble(Get(cpu, y)), ToDouble(dy));
        }
        // The op is linear in inject, so a central difference has no truncation error at any step; the step 0.5
        // (exact in float) keeps the float rounding of y = inject + pos (~2e-7 absolute) below 1e-6 in the quotient.
        var numeric = new double[inject.Length];
        for (var i = 0; i < inject.Length; i++)
        {
            var keep = inject[i];
            inject[i] = keep + 0.5f;
            var plus = Loss();
            inject[i] = keep - 0.5f;
            var minus = Loss();
            inject[i] = keep;
            numeric[i] = plus - minus;
        }
        using var tDy = Put(cpu, "dy", dy, n, t, c);
        using var dinj = Put(cpu, "dinject", BackwardChecks.NaNs(inject.Length), n, j, c);
        cpu.EmbeddingBackward(dinj, tDy, tIds);
        TensorAssert.Close("dinject", ToDouble(Get(cpu, dinj)), numeric, atol: 1e-5, rtol: 0);
        Assert.All(Get(cpu, dinj).AsSpan((j + 1) * c, c).ToArray(), v => Assert.Equal(0f, v)); // sample 1, slot 1: unused
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(3, 13, 33, 10)]
    [InlineData(1, 197, 7, 3)]
    [InlineData(2, 5, 130, 4)]
    [InlineData(2, 7, 5, 0)]
    public void EmulatedKernelMatchesTheCpuBitwise(int n, int t, int c, int j) => KernelMatchesCpu("emu", n, t, c, j);

    [Fact]
    public void GpuKernelMatchesTheCpuAtModelShape() => KernelMatchesCpu("gpu", 60, 77, 768, 10);

    private static void KernelMatchesCpu(string device, int n, int t, int c, int j)
    {
        var ids = Ids(n, t, j, n * 100 + t);
        var dy = FiniteDiff.RandomFloats(n * t * c, 7);
        float[] Run(IBackend be)
        {
            using var tIds = Put(be, "ids", ids, n, t);
            using var tDy = Put(be, "dy", dy, n, t, c);
            using var dinj = Put(be, "dinject", BackwardChecks.NaNs(n * j * c), n, j, c);
            be.EmbeddingBackward(dinj, tDy, tIds);
            BackwardChecks.Guards(be);
            return Get(be, dinj);
        }
        using var dev = Backend(device);
        using var cpu = TestBackends.Cpu();
        var actual = Run(dev);
        TensorAssert.AllFinite("dinject", actual);
        // Both add the same rows from 0 in increasing t: bitwise equal, not merely close.
        TensorAssert.BitwiseEqual("dinject", actual, Run(cpu));
        TensorAssert.BitwiseEqual("rerun dinject", Run(dev), actual);
    }

    [Fact]
    public void ChecksShapes()
    {
        using var cpu = TestBackends.Cpu();
        using var ids = cpu.Allocate(new(2, 3), "ids");
        using var dy = cpu.Allocate(new(2, 3, 4), "dy");
        using var dinj = cpu.Allocate(new(2, 1, 5), "dinject");
        var e = Assert.Throws<ArgumentException>(() => cpu.EmbeddingBackward(dinj, dy, ids));
        Assert.Contains("EmbeddingBackward: dinject has shape [2,1,5]", e.Message);
    }
}

/// <summary>EmbeddingBackward against PyTorch autograd through the splice (tests/reference/head_backward.py).</summary>
public class EmbeddingBackwardOracleTests(HeadBackwardOracle fx) : IClassFixture<HeadBackwardOracle>
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("emu")]
    [InlineData("gpu")]
    public void MatchesAutograd(string backend)
    {
        using var be = Backend(backend);
        using var ids = fx.Put(be, "em_ids");
        using var table = fx.Put(be, "em_table");
        using var pos = fx.Put(be, "em_pos");
        using var inject = fx.Put(be, "em_inject");
        using var y = fx.NaNs(be, "em_y");
        be.Embedding(y, ids, table, pos, inject);
        // y is one float addition of the float32 inputs: ≤ half an ulp of |y| ≲ 2 from the float64 value.
        fx.Expect(be, "em_y", y, atol: 2.5e-7, rtol: 0);
        using var dy = fx.Put(be, "em_dy");
        using var dinj = fx.NaNs(be, "em_dinject");
        be.EmbeddingBackward(dinj, dy, ids);
        // At most two float32 rows are added per slot (the oracle uses one slot twice): ≤ 1 ulp of |sum| ≲ 2.
        fx.Expect(be, "em_dinject", dinj, atol: 2.5e-7, rtol: 0);
    }
}
