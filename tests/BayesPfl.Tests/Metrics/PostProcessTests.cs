using BayesPfl.Engine.Metrics;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Metrics;

public class PostProcessTests
{
    [Theory]
    [InlineData(518, 518)]
    [InlineData(7, 3)]
    [InlineData(1, 5)]
    [InlineData(40, 65)]
    [InlineData(33, 97)]
    public void BlurMatchesScipy(int h, int w)
    {
        using var f = Oracle.Run("metrics_oracle.py", "--case", "blur", "--h", h.ToString(), "--w", w.ToString());
        var x = f.ReadFloats("x");
        var expected = f.ReadFloats("y");
        var y = new float[x.Length];
        GaussianBlur.Apply(x, y, h, w);
        // scipy's arithmetic is reproduced (float64 taps and sums in the same order, float32 between passes);
        // only exp() may differ by an ulp between libm and .NET, which can flip the last float32 bit:
        // 2 ulp of the largest value bounds that.
        var scale = expected.Max(Math.Abs);
        TensorAssert.Close($"blur {h}x{w} seed={OracleData.Seed(f)}", y, expected, 2 * scale * Math.Pow(2, -23), 0);
        // In place gives the same.
        GaussianBlur.Apply(x, x, h, w);
        TensorAssert.BitwiseEqual("in-place blur", x, y);
    }

    [Fact]
    public void PaperKernelHas65Taps()
    {
        var half = GaussianBlur.HalfKernel(8);
        Assert.Equal(33, half.Length);
        Assert.Equal(1.0, half[0] + 2 * half.Skip(1).Sum(), 14);
    }

    [Fact]
    public void ReflectIsHalfSampleSymmetric()
    {
        // d c b a | a b c d | d c b a, repeated for long reaches.
        int[] expected = [3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0, 1];
        Assert.Equal(expected, Enumerable.Range(-4, 14).Select(i => GaussianBlur.Reflect(i, 4)));
        Assert.All(Enumerable.Range(-40, 80), i => Assert.Equal(0, GaussianBlur.Reflect(i, 1)));
    }

    [Theory]
    [InlineData("random", 268324, 2000)]
    [InlineData("ties", 5000, 20)]
    [InlineData("random", 7, 20)]     // k > n: the mean of all
    [InlineData("random", 20, 20)]
    [InlineData("ties", 1, 1)]
    public void TopKMeanMatchesNumPySort(string kind, int n, int k)
    {
        using var f = Oracle.Run("metrics_oracle.py", "--case", "topk", "--kind", kind, "--n", n.ToString(), "--k", k.ToString());
        var x = f.ReadFloats("x");
        var copy = x.ToArray();
        var mean = TopKMean.Compute(x, k);
        // The same k values summed in float64 in another order: |error| <= k * 2^-52 * max|x| ~ 2e-12 at k=2000.
        Assert.True(Math.Abs(OracleData.Scalar(f, "mean") - mean) <= 1e-11, $"{kind} n={n} k={k} seed={OracleData.Seed(f)}: {mean:R} vs {OracleData.Scalar(f, "mean"):R}");
        Assert.Equal(copy, x);
    }

    [Fact]
    public void CategoryK()
    {
        Assert.Equal(20, TopKMean.DefaultK("pipe_fryum"));
        Assert.Equal(20, TopKMean.DefaultK("screw"));
        Assert.Equal(2000, TopKMean.DefaultK("bottle"));
    }

    [Fact]
    public void FusedImageScoreMatchesNumPy()
    {
        using var f = Oracle.Run("metrics_oracle.py", "--case", "fuse", "--n", "257");
        var p = OracleData.Doubles(f, "p");
        var s = OracleData.Doubles(f, "s");
        // Same float64 operations per element; only 0.5*a + 0.5*b vs alpha*a + (1-alpha)*b with alpha = 0.5 (exact).
        Assert.True(OracleData.Doubles(f, "fused").SequenceEqual(ImageScore.Fuse(p, s)), $"fused score differs (seed={OracleData.Seed(f)})");
        Assert.True(OracleData.Doubles(f, "minmax_p").SequenceEqual(ImageScore.ClassificationOnly(p)), $"minmax(p) differs (seed={OracleData.Seed(f)})");
    }

    [Fact]
    public void MinMaxOfConstantIsZero()
    {
        Assert.Equal([0.0, 0.0], ImageScore.MinMax([0.7, 0.7]));
        Assert.Throws<ArgumentException>(() => ImageScore.MinMax([0.7, double.NaN]));
    }
}

public class PostProcessBatchTests
{
    [Fact]
    public void BatchBlurEqualsOneByOne()
    {
        var rng = new Random(7);
        var maps = Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, 37 * 41).Select(_ => (float)rng.NextDouble()).ToArray()).ToArray();
        var batch = GaussianBlur.Apply(maps, 37, 41);
        for (var i = 0; i < maps.Length; i++)
        {
            var one = new float[maps[i].Length];
            GaussianBlur.Apply(maps[i], one, 37, 41);
            TensorAssert.BitwiseEqual($"map {i}", batch[i], one);
        }
    }

    [Fact]
    public void BatchTopKEqualsSortedTail()
    {
        var seed = Random.Shared.Next();
        var rng = new Random(seed);
        var maps = Enumerable.Range(0, 6).Select(i => Enumerable.Range(0, 1000 + 333 * i).Select(_ => (float)Math.Round(rng.NextDouble() * 50)).ToArray()).ToArray();
        var means = TopKMean.Compute(maps, 117);
        for (var i = 0; i < maps.Length; i++)
        {
            var sorted = maps[i].OrderDescending().Take(117).Select(v => (double)v).Sum() / 117;
            // Integers summed in float64: exact in any order.
            Assert.True(sorted == means[i], $"seed {seed} map {i}: {means[i]:R} vs sorted tail {sorted:R}");
        }
    }
}
