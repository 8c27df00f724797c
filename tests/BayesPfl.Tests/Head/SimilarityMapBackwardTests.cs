using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Head;

/// <summary>SimilarityMapBackward: scatter reference vs finite differences, gather kernel vs the reference.</summary>
public class SimilarityMapBackwardTests
{
    private const float Scale = 14.285714f;

    [Theory]
    [InlineData(1, 1, 1, 1, 1, 1)]
    [InlineData(2, 3, 2, 1, 7, 5)]
    [InlineData(3, 2, 2, 2, 5, 8)]
    [InlineData(4, 4, 1, 1, 1, 9)]
    public void ReferenceMatchesFiniteDifferences(int h, int w, int pairs, int layers, int outH, int outW)
    {
        var n = new SimilarityMapReference.Dims(layers, pairs, h, w, outH, outW);
        var s = FiniteDiff.Random(layers * 2 * pairs * h * w, h * 10 + w, 0.1);
        var gmap = FiniteDiff.Random(outH * outW, 5);
        double Loss()
        {
            var map = new double[outH * outW];
            SimilarityMapReference.Forward<double>(map, s, n, Scale);
            return FiniteDiff.Dot(map, gmap);
        }
        var ds = new double[s.Length];
        SimilarityMapReference.Backward<double>(ds, gmap, s, n, Scale);
        // The map is smooth (sigmoid of a linear function), so central differences are good to ~1e-8 relative
        // (FiniteDiff); gradients are O(scale/4) ≈ 4 at most, so 1e-7 + 1e-7·|g| leaves margin while a wrong tap
        // weight or a lost sign moves a value by ≥ 1e-2.
        TensorAssert.Close("ds", ds, FiniteDiff.Gradient(s, Loss), atol: 1e-7, rtol: 1e-7);
    }

    [Theory]
    [InlineData(1, 1, 1, 1, 1, 1)]
    [InlineData(2, 2, 7, 7, 3, 2)]
    [InlineData(5, 4, 33, 17, 3, 2)]
    [InlineData(37, 37, 33, 33, 2, 1)]
    [InlineData(7, 7, 1, 1, 2, 2)]
    [InlineData(1, 3, 9, 1, 1, 3)]
    public void EmulatedKernelMatchesCpu(int h, int w, int outH, int outW, int pairs, int layers) =>
        KernelMatchesCpu("emu", h, w, outH, outW, pairs, layers);

    [Fact]
    public void GpuKernelMatchesCpuAtModelShape() => KernelMatchesCpu("gpu", 37, 37, 518, 518, 30, 4);

    private static void KernelMatchesCpu(string device, int h, int w, int outH, int outW, int pairs, int layers)
    {
        var s = FiniteDiff.RandomFloats(layers * 2 * pairs * h * w, h * 7 + outW, 0.1f);
        var gmap = FiniteDiff.RandomFloats(outH * outW, 51);
        float[] Run(IBackend be)
        {
            using var ts = Put(be, "s", s, layers, 2 * pairs, h, w);
            using var dmap = Put(be, "dmap", gmap, outH, outW);
            using var ds = Put(be, "ds", BackwardChecks.NaNs(s.Length), layers, 2 * pairs, h, w);
            be.SimilarityMapBackward(ds, dmap, ts, Scale);
            BackwardChecks.Guards(be);
            return Get(be, ds);
        }
        using var dev = Backend(device);
        using var cpu = TestBackends.Cpu();
        var expected = Run(cpu);
        var actual = Run(dev);
        TensorAssert.AllFinite("ds", actual);
        // Gather (device) and scatter (CPU) add the same ≤ (H/h + 2)² products per cell in different orders: each
        // product is ≤ scale/4·|dmap|/(L·M) ≲ 4 and rounds to ~2e-7 relative, so the sums differ by ≲ 1e-6 per
        // hundred terms; 1e-5 + 1e-4·|g| leaves margin while a missed or doubled tap changes a cell by ≳ 1e-2.
        TensorAssert.Close("ds", actual, expected, atol: 1e-5, rtol: 1e-4);
        TensorAssert.BitwiseEqual("rerun ds", Run(dev), actual);
    }

    [Fact]
    public void RejectsAGradientShapedUnlikeTheMaps()
    {
        using var be = TestBackends.Cpu();
        using var s = be.Allocate(new Shape(2, 4, 3, 3), "s");
        using var ds = be.Allocate(new Shape(2, 4, 3, 2), "ds");
        using var dmap = be.Allocate(new Shape(5, 5), "dmap");
        var e = Assert.Throws<ArgumentException>(() => be.SimilarityMapBackward(ds, dmap, s, Scale));
        Assert.Contains("SimilarityMapBackward: ds has shape [2,4,3,2] but s has shape [2,4,3,3]", e.Message);
    }
}
