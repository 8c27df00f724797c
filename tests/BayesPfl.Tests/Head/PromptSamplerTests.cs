using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Head;

/// <summary>Sampling schedule (spec 5.5), the seeded noise, and the pointwise flow ops on ragged sizes.</summary>
public class PromptSamplerTests(HeadOracleFixture fx) : IClassFixture<HeadOracleFixture>
{
    [Fact]
    public void StateSamplesAreCachedUntilReset()
    {
        using var be = TestBackends.Cpu();
        using var w = HeadWeights.Load(be, fx.WeightsFile, fx.Config);
        using var g = Put(be, "g", fx.Debug.ReadFloats("g"), 1, w.Config.Embed);
        using var sampler = new PromptSampler(be, w, samples: 4, seed: 7);
        sampler.Draw(g);
        var ctx1 = Get(be, sampler.Context.ZK);
        var normal1 = Get(be, sampler.Normal!.ZK);
        var abnormal1 = Get(be, sampler.Abnormal!.ZK);
        sampler.Draw(g);
        Assert.NotEqual(ctx1, Get(be, sampler.Context.ZK));
        Assert.Equal(normal1, Get(be, sampler.Normal!.ZK));
        Assert.Equal(abnormal1, Get(be, sampler.Abnormal!.ZK));
        Assert.NotEqual(normal1, abnormal1);
        sampler.Reset();
        Assert.Null(sampler.Normal);
        sampler.Draw(g);
        Assert.NotEqual(normal1, Get(be, sampler.Normal!.ZK));

        // The same seed replays the same stream.
        using var again = new PromptSampler(be, w, samples: 4, seed: 7);
        again.Draw(g);
        Assert.Equal(ctx1, Get(be, again.Context.ZK));
        Assert.Equal(normal1, Get(be, again.Normal!.ZK));
    }

    [Fact]
    public void GaussianNoiseHasUnitMoments()
    {
        var noise = new GaussianNoise(123);
        var x = new float[200_000];
        noise.Fill(x);
        double mean = x.Average(v => (double)v), var2 = x.Average(v => (double)v * v) - mean * mean;
        // Standard errors with n = 2e5: mean 2.2e-3, variance 3.2e-3; 5 sigma bounds.
        Assert.InRange(mean, -0.011, 0.011);
        Assert.InRange(var2, 1 - 0.016, 1 + 0.016);
        Assert.All(x, v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(3, 7, true)]
    [InlineData(10, 33, false)]
    [InlineData(7, 1, true)]
    public void BaseSampleEmulatedMatchesCpu(int samples, int dim, bool shared)
    {
        var p = shared ? 1 : samples;
        var mu = FiniteDiff.RandomFloats(p * dim, 1);
        var h = FiniteDiff.RandomFloats(p * dim, 2, 3f);
        var eps = FiniteDiff.RandomFloats(samples * dim, 3);
        (float[] Z0, float[] V) Run(IBackend be)
        {
            using var tmu = Put(be, "mu", mu, p, dim);
            using var th = Put(be, "h", h, p, dim);
            using var te = Put(be, "eps", eps, samples, dim);
            using var z0 = be.Allocate(new Shape(samples, dim), "z0");
            using var v = be.Allocate(new Shape(p, dim), "v");
            be.FlowBaseSample(z0, v, tmu, th, te);
            return (Get(be, z0), Get(be, v));
        }
        using var cpu = TestBackends.Cpu();
        using var emu = TestBackends.Emulated();
        var expected = Run(cpu);
        var actual = Run(emu);
        // expf and sqrtf vs MathF.Exp and MathF.Sqrt: an ulp or two.
        TensorAssert.Close("v", actual.V, expected.V, atol: 0, rtol: 1e-6);
        TensorAssert.Close("z0", actual.Z0, expected.Z0, atol: 1e-6, rtol: 1e-6);
        var d = new double[samples * dim];
        PromptFlowReference.Sample<double>(d, new double[p * dim], ToDouble(mu), ToDouble(h), ToDouble(eps),
            new PromptFlowReference.SampleDims(samples, dim, shared && samples != 1));
        // Against the double reference: float rounding of exp, sqrt and one fma, values O(10).
        TensorAssert.Close("z0 vs double", ToDouble(expected.Z0), d, atol: 1e-5, rtol: 1e-6);
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(3, 2, 5, 7)]
    [InlineData(2, 3, 1, 33)]
    public void PromptBlocksEmulatedMatchesCpu(int bank, int samples, int tokens, int width)
    {
        var ctx = FiniteDiff.RandomFloats(bank * tokens * width, 1);
        var stN = FiniteDiff.RandomFloats(bank * tokens * width, 2);
        var stA = FiniteDiff.RandomFloats(bank * tokens * width, 3);
        var zc = FiniteDiff.RandomFloats(samples * width, 4);
        var zn = FiniteDiff.RandomFloats(samples * width, 5);
        var za = FiniteDiff.RandomFloats(samples * width, 6);
        float[] Run(IBackend be)
        {
            using var a = Put(be, "ctx", ctx, bank, tokens, width);
            using var b = Put(be, "stN", stN, bank, tokens, width);
            using var c = Put(be, "stA", stA, bank, tokens, width);
            using var d = Put(be, "zc", zc, samples, width);
            using var e = Put(be, "zn", zn, samples, width);
            using var f = Put(be, "za", za, samples, width);
            using var blocks = be.Allocate(new Shape(2 * bank * samples, 2 * tokens, width), "blocks");
            be.PromptBlocks(blocks, a, b, c, d, e, f);
            return Get(be, blocks);
        }
        using var cpu = TestBackends.Cpu();
        using var emu = TestBackends.Emulated();
        var expected = Run(cpu);
        // One float addition per element in both: bitwise equal.
        TensorAssert.BitwiseEqual("blocks", Run(emu), expected);
        // Spot-check the layout: abnormal half, sample r = samples-1, bank b = bank-1, last state row, last column.
        int r = samples - 1, bb = bank - 1, idx = ((1 * samples + r) * bank + bb) * 2 * tokens * width + (2 * tokens - 1) * width + width - 1;
        Assert.Equal(stA[(bb * tokens + tokens - 1) * width + width - 1] + za[r * width + width - 1], expected[idx]);
    }
}
