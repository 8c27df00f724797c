using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Model;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Model;

public class VisionTowerTests(ITestOutputHelper output)
{
    // fp32 engine vs fp32 PyTorch: the two differ only in summation order (GEMM blocking, LayerNorm and
    // softmax reductions), a few ulp (~1e-7 relative) per op, compounded over <= 4 blocks whose values stay
    // O(1..10). Measured on these configs (CPU and emulated): max abs error <= 5e-6 at |ref| <= 8, NMSE
    // <= 5e-13. 2e-5 + 2e-5·|ref| and NMSE 1e-11 leave 20x or more, while a wrong term (the other GELU kind,
    // a missing bias, a wrong attention scale) moves values by 1e-3 or more.
    internal const double Atol = 2e-5;
    internal const double Rtol = 2e-5;
    internal const double MaxNmse = 1e-11;

    public static TheoryData<string, string[]> Configs => new()
    {
        // grid 2 (5 tokens), taps out of order, exact GELU, batch 2
        { "erf 28px/14 w64 h2 L3", ["--image", "28", "--patch", "14", "--width", "64", "--heads", "2", "--layers", "3", "--taps", "3,1,2", "--batch", "2"] },
        // grid 10 (101 tokens), QuickGELU, head dim 32, one tap in the middle
        { "quick 70px/7 w96 h3 L2", ["--image", "70", "--patch", "7", "--width", "96", "--heads", "3", "--layers", "2", "--taps", "1", "--gelu", "quick"] },
        // grid 6 (37 tokens), width not a multiple of 32, 4 heads of 30, both taps
        { "erf 42px/7 w120 h4 L4", ["--image", "42", "--patch", "7", "--width", "120", "--heads", "4", "--layers", "4", "--taps", "2,4", "--batch", "2"] },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void TapsAndGlobalMatchTheOracle(string label, string[] args)
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), args);
        CheckAgainstOracle(c, label, log: output.WriteLine);
    }

    /// <summary>Runs the whole batch of oracle images and compares every tap and the global embedding.</summary>
    internal static void CheckAgainstOracle(ClipCase c, string label, double atol = Atol, double rtol = Rtol, double maxNmse = MaxNmse,
        Action<string>? log = null)
    {
        var taps = TapsOf(c);
        var batch = c.Debug.Entry("in.images").Shape[0];
        using var tower = new VisionTower(c.Backend, c.Weights);
        using var images = c.UploadImages(0, batch);
        using var f = tower.Encode(images, taps);
        Assert.Equal(taps, f.TapLayers);
        for (var i = 0; i < taps.Length; i++)
        {
            Assert.Equal([batch, c.Config.Vision.Grid * c.Config.Vision.Grid, c.Config.Vision.Width], f.Taps[i].Shape.Dims.ToArray());
            ClipCase.Compare($"{label} tap {taps[i]}", c.Download(f.Taps[i]), c.Floats($"out.tap.{taps[i]}"), atol, rtol, maxNmse, log);
        }
        ClipCase.Compare($"{label} global", c.Download(f.Global), c.Floats("out.global"), atol, rtol, maxNmse, log);
    }

    /// <summary>The taps the oracle dumped, in the order of its --taps flag (the debug file keeps insertion order).</summary>
    internal static int[] TapsOf(ClipCase c) =>
        c.Debug.Entries.Where(e => e.Name.StartsWith("out.tap.", StringComparison.Ordinal)).OrderBy(e => e.Begin)
            .Select(e => int.Parse(e.Name["out.tap.".Length..])).ToArray();

    [Fact]
    public void ABatchOfThreeIsBitwiseThreeBatchesOfOne()
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), "--image", "42", "--patch", "7", "--width", "64", "--heads", "2", "--layers", "2", "--taps", "1,2", "--batch", "3");
        // Every CPU op is independent across images (GEMM rows, attention per sequence), so batching changes no bit.
        CheckBatchEqualsSingles(c, (name, alone, inBatch) => TensorAssert.BitwiseEqual(name, alone, inBatch));
    }

    /// <summary>Encodes the oracle's images as one batch and one at a time; <paramref name="same"/> compares each image's outputs.</summary>
    internal static void CheckBatchEqualsSingles(ClipCase c, Action<string, float[], float[]> same)
    {
        var taps = TapsOf(c);
        var batch = c.Debug.Entry("in.images").Shape[0];
        using var tower = new VisionTower(c.Backend, c.Weights);
        using var all = c.UploadImages(0, batch);
        using var together = tower.Encode(all, taps);
        var globalAll = c.Download(together.Global);
        var tapsAll = together.Taps.Select(c.Download).ToArray();
        var e = c.Config.EmbedDim;
        for (var b = 0; b < batch; b++)
        {
            using var one = c.UploadImages(b, 1);
            using var alone = tower.Encode(one, taps);
            same($"global of image {b}", c.Download(alone.Global), globalAll.AsSpan(b * e, e).ToArray());
            for (var i = 0; i < taps.Length; i++)
            {
                var per = (int)alone.Taps[i].Length;
                same($"tap {taps[i]} of image {b}", c.Download(alone.Taps[i]), tapsAll[i].AsSpan(b * per, per).ToArray());
            }
        }
    }

    [Fact]
    public void RerunIsBitwiseEqualAndFinite()
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), "--image", "28", "--patch", "7", "--width", "64", "--heads", "4", "--layers", "2", "--taps", "2", "--batch", "2");
        using var tower = new VisionTower(c.Backend, c.Weights);
        using var images = c.UploadImages(0, 2);
        using var first = tower.Encode(images, [2]);
        using var second = tower.Encode(images, [2]);
        var a = c.Download(first.Taps[0]);
        TensorAssert.AllFinite("tap 2", a);
        TensorAssert.BitwiseEqual("tap 2 rerun", c.Download(second.Taps[0]), a);
        TensorAssert.BitwiseEqual("global rerun", c.Download(second.Global), c.Download(first.Global));
    }

    [Fact]
    public void RejectsBadTapsAndImageSizes()
    {
        using var c = ClipCase.Create(TestBackends.Cpu(), "--image", "28", "--patch", "14", "--layers", "2", "--taps", "1");
        using var tower = new VisionTower(c.Backend, c.Weights);
        using var images = c.UploadImages(0, 1);
        Assert.Contains("tap layer 3 is outside 1..2", Assert.Throws<ArgumentException>(() => tower.Encode(images, [1, 3])).Message);
        Assert.Contains("repeat", Assert.Throws<ArgumentException>(() => tower.Encode(images, [2, 2])).Message);
        using var wrong = c.Backend.Allocate(new Engine.Tensors.Shape(1, 3, 42, 42), "wrong_size");
        Assert.Contains("wrong_size", Assert.Throws<ArgumentException>(() => tower.Encode(wrong)).Message);
    }
}
