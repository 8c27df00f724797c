using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Head;

/// <summary>The fused similarity map (spec 7.3) against the spec's literal unfused order, CPU and emulated.</summary>
public class SimilarityMapTests
{
    // exp(tau_pix) at its init log(1/0.07); with logits of spread 0.1 the scaled differences are O(1), so the
    // sigmoids are neither saturated nor linear.
    private const float Scale = 14.285714f;

    private static float[] Logits(int layers, int pairs, int h, int w, int seed) =>
        FiniteDiff.RandomFloats(layers * 2 * pairs * h * w, seed, 0.1f);

    private static double[] Unfused(float[] s, SimilarityMapReference.Dims n)
    {
        var expected = new double[n.OutH * n.OutW];
        SimilarityMapReference.Unfused<double>(expected, ToDouble(s), n, Scale);
        return expected;
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(2, 7, 3, 2)]
    [InlineData(5, 33, 30, 4)]
    [InlineData(37, 33, 7, 3)]
    [InlineData(37, 7, 1, 1)]
    [InlineData(2, 1, 30, 4)]
    [InlineData(37, 518, 2, 2)]
    public void CpuMatchesUnfusedSpecOrder(int grid, int side, int pairs, int layers)
    {
        using var be = TestBackends.Cpu();
        var s = Logits(layers, pairs, grid, grid, grid * 1000 + side);
        using var st = Put(be, "s", s, layers, 2 * pairs, grid, grid);
        using var map = be.Allocate(new Shape(side, side), "map");
        be.SimilarityMap(map, st, Scale);
        var n = SimilarityMapReference.CheckShapes("test", map, st);
        // float vs double: each scaled difference (|d| ≲ 5) carries a few float ulps (~1e-6 absolute), the
        // sigmoid's slope ≤ 1/4 shrinks that, and the mean over L·M terms cannot grow it; 1e-5 leaves margin
        // while a wrong tap, pair or layer index moves values by ≥ 1e-3.
        TensorAssert.Close("map", ToDouble(Get(be, map)), Unfused(s, n), atol: 1e-5, rtol: 0);
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(2, 7, 3, 2)]
    [InlineData(5, 33, 30, 4)]
    [InlineData(37, 33, 5, 3)]
    [InlineData(2, 1, 4, 1)]
    public void EmulatedKernelMatchesCpu(int grid, int side, int pairs, int layers) => KernelMatchesCpu("emu", grid, side, pairs, layers);

    [Fact]
    public void GpuKernelMatchesCpuAtModelShape() => KernelMatchesCpu("gpu", 37, 518, 30, 4);

    private static void KernelMatchesCpu(string device, int grid, int side, int pairs, int layers)
    {
        var s = Logits(layers, pairs, grid, grid, grid * 7 + side);
        using var emu = Backend(device);
        using var cpu = TestBackends.Cpu();
        float[] Run(IBackend be)
        {
            using var st = Put(be, "s", s, layers, 2 * pairs, grid, grid);
            using var map = be.Allocate(new Shape(side, side), "map");
            be.SimilarityMap(map, st, Scale);
            return Get(be, map);
        }
        var expected = Run(cpu);
        var actual = Run(emu);
        TensorAssert.AllFinite("map", actual);
        // Same taps and summation order; only expf (device) vs MathF.Exp (CPU) may differ by an ulp or two per
        // term, i.e. ≲ 1e-7 per sigmoid.
        TensorAssert.Close("map", actual, expected, atol: 1e-6, rtol: 0);
        TensorAssert.BitwiseEqual("rerun", Run(emu), actual);
    }

    [Fact]
    public void RectangularGridAndOutput()
    {
        using var be = TestBackends.Cpu();
        var s = FiniteDiff.RandomFloats(2 * 6 * 3 * 5, 5, 0.1f);
        using var st = Put(be, "s", s, 2, 6, 3, 5);
        using var map = be.Allocate(new Shape(7, 4), "map");
        be.SimilarityMap(map, st, Scale);
        var n = SimilarityMapReference.CheckShapes("test", map, st);
        // As in CpuMatchesUnfusedSpecOrder.
        TensorAssert.Close("map", ToDouble(Get(be, map)), Unfused(s, n), atol: 1e-5, rtol: 0);
    }

    [Fact]
    public void EqualPairsGiveOneHalf()
    {
        using var be = TestBackends.Cpu();
        var half = FiniteDiff.RandomFloats(3 * 4 * 4, 9);
        var s = new float[2 * half.Length * 2];
        for (var j = 0; j < 2; j++)
        {
            half.CopyTo(s, j * 2 * half.Length);
            half.CopyTo(s, j * 2 * half.Length + half.Length);
        }
        using var st = Put(be, "s", s, 2, 6, 4, 4);
        using var map = be.Allocate(new Shape(9, 9), "map");
        be.SimilarityMap(map, st, Scale);
        // Normal and abnormal maps equal: every difference is exactly 0, sigmoid(0) = 0.5 exactly.
        Assert.All(Get(be, map), v => Assert.Equal(0.5f, v));
    }

    [Theory]
    [InlineData(new[] { 2, 5, 3, 3 }, new[] { 4, 4 }, "2M")]
    [InlineData(new[] { 6, 3, 3 }, new[] { 4, 4 }, "rank 4")]
    [InlineData(new[] { 1, 2, 3, 3 }, new[] { 4, 4, 1 }, "rank 2")]
    [InlineData(new[] { 1, 2, 0, 3 }, new[] { 4, 4 }, ">= 1")]
    public void RejectsBadShapes(int[] sDims, int[] mapDims, string fragment)
    {
        foreach (var be in new IBackend[] { TestBackends.Cpu(), TestBackends.Emulated() })
        {
            using var _ = be;
            using var st = be.Allocate(new Shape(sDims), "s");
            using var map = be.Allocate(new Shape(mapDims), "map");
            var e = Assert.Throws<ArgumentException>(() => be.SimilarityMap(map, st, 1f));
            Assert.Contains("SimilarityMap", e.Message);
            Assert.Contains(fragment, e.Message);
        }
    }
}
