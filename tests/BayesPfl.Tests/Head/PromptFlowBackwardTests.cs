using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Head;

/// <summary>FlowBaseSampleBackward and PromptBlocksBackward: reference vs finite differences, kernels vs reference.</summary>
public class PromptFlowBackwardTests
{
    // Central differences in double are good to ~1e-8 relative on these smooth O(1) functions (FiniteDiff);
    // 1e-7 absolute + relative leaves margin while a missing sample, row or factor (0.25, 0.5) is off by ≥ 1e-2.
    private const double FdTol = 1e-7;

    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(3, 5, false)]
    [InlineData(4, 3, true)]
    public void BaseSampleReferenceMatchesFiniteDifferences(int samples, int dim, bool shared)
    {
        var p = shared ? 1 : samples;
        var n = new PromptFlowReference.SampleDims(samples, dim, shared && samples != 1);
        double[] mu = FiniteDiff.Random(p * dim, 1), h = FiniteDiff.Random(p * dim, 2), eps = FiniteDiff.Random(samples * dim, 3);
        double[] gz = FiniteDiff.Random(samples * dim, 4), gv = FiniteDiff.Random(p * dim, 5);
        double Loss()
        {
            var z0 = new double[samples * dim];
            var v = new double[p * dim];
            PromptFlowReference.Sample<double>(z0, v, mu, h, eps, n);
            return FiniteDiff.Dot(z0, gz) + FiniteDiff.Dot(v, gv);
        }
        var vs = new double[p * dim];
        PromptFlowReference.Sample<double>(new double[samples * dim], vs, mu, h, eps, n);
        double[] dmu = new double[p * dim], dh = new double[p * dim];
        PromptFlowReference.SampleBackward<double>(dmu, dh, gz, gv, vs, eps, n);
        TensorAssert.Close("dmu", dmu, FiniteDiff.Gradient(mu, Loss), atol: FdTol, rtol: FdTol);
        TensorAssert.Close("dh", dh, FiniteDiff.Gradient(h, Loss), atol: FdTol, rtol: FdTol);
    }

    [Fact]
    public void PromptBlocksReferenceMatchesFiniteDifferences()
    {
        var n = new PromptFlowReference.BlockDims(2, 3, 2, 3);
        int bsc = n.Bank * n.Tokens * n.Width, rc = n.Samples * n.Width;
        var inputs = Enumerable.Range(0, 6).Select(i => FiniteDiff.Random(i < 3 ? bsc : rc, 10 + i)).ToArray();
        var gb = FiniteDiff.Random(4 * bsc * n.Samples, 20);
        double Loss()
        {
            var blocks = new double[gb.Length];
            PromptFlowReference.Blocks<double>(blocks, inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5], n);
            return FiniteDiff.Dot(blocks, gb);
        }
        var grads = inputs.Select(x => new double[x.Length]).ToArray();
        PromptFlowReference.BlocksBackward<double>(grads[0], grads[1], grads[2], grads[3], grads[4], grads[5], gb, n);
        string[] names = ["dctx", "dstateNormal", "dstateAbnormal", "dzc", "dzn", "dza"];
        for (var i = 0; i < 6; i++) TensorAssert.Close(names[i], grads[i], FiniteDiff.Gradient(inputs[i], Loss), atol: FdTol, rtol: FdTol);
    }

    [Theory]
    [InlineData(1, 1, false, true)]
    [InlineData(7, 33, false, false)]
    [InlineData(10, 257, true, true)]
    [InlineData(3, 130, true, false)]
    public void EmulatedBaseSampleMatchesCpu(int samples, int dim, bool shared, bool withDv) => BaseSampleMatchesCpu("emu", samples, dim, shared, withDv);

    [Fact]
    public void GpuBaseSampleMatchesCpuAtModelShape() => BaseSampleMatchesCpu("gpu", 10, 768, true, true);

    private static void BaseSampleMatchesCpu(string device, int samples, int dim, bool shared, bool withDv)
    {
        var p = shared ? 1 : samples;
        var mu = FiniteDiff.RandomFloats(p * dim, 31);
        var h = FiniteDiff.RandomFloats(p * dim, 32, 2f);
        var eps = FiniteDiff.RandomFloats(samples * dim, 33, 2f);
        var gz = FiniteDiff.RandomFloats(samples * dim, 34);
        var gv = FiniteDiff.RandomFloats(p * dim, 35);
        float[][] Run(IBackend be)
        {
            using var tmu = Put(be, "mu", mu, p, dim);
            using var th = Put(be, "h", h, p, dim);
            using var te = Put(be, "eps", eps, samples, dim);
            using var z0 = be.Allocate(new(samples, dim), "z0");
            using var v = be.Allocate(new(p, dim), "v");
            be.FlowBaseSample(z0, v, tmu, th, te);
            using var dz0 = Put(be, "dz0", gz, samples, dim);
            using var dv = withDv ? Put(be, "dv", gv, p, dim) : null;
            using var dmu = Put(be, "dmu", BackwardChecks.NaNs(p * dim), p, dim);
            using var dh = Put(be, "dh", BackwardChecks.NaNs(p * dim), p, dim);
            be.FlowBaseSampleBackward(dmu, dh, dz0, dv, v, te);
            BackwardChecks.Guards(be);
            return [Get(be, dmu), Get(be, dh)];
        }
        Compare(device, Run, ["dmu", "dh"]);
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(3, 10, 5, 7)]
    [InlineData(3, 2, 5, 130)]
    [InlineData(2, 1, 3, 257)]
    public void EmulatedPromptBlocksMatchCpu(int bank, int samples, int tokens, int width) => PromptBlocksMatchCpu("emu", bank, samples, tokens, width);

    [Fact]
    public void GpuPromptBlocksMatchCpuAtModelShape() => PromptBlocksMatchCpu("gpu", 3, 10, 5, 768);

    private static void PromptBlocksMatchCpu(string device, int bank, int samples, int tokens, int width)
    {
        var dblocks = FiniteDiff.RandomFloats(4 * bank * samples * tokens * width, 41);
        // The prompt parameters' gradients accumulate: start them from non-zero values.
        var start = FiniteDiff.RandomFloats(bank * tokens * width, 42);
        float[][] Run(IBackend be)
        {
            using var db = Put(be, "dblocks", dblocks, 2 * bank * samples, 2 * tokens, width);
            using var dctx = Put(be, "dctx", start, bank, tokens, width);
            using var dsn = Put(be, "dstateNormal", start, bank, tokens, width);
            using var dsa = Put(be, "dstateAbnormal", start, bank, tokens, width);
            using var dzc = Put(be, "dzc", BackwardChecks.NaNs(samples * width), samples, width);
            using var dzn = Put(be, "dzn", BackwardChecks.NaNs(samples * width), samples, width);
            using var dza = Put(be, "dza", BackwardChecks.NaNs(samples * width), samples, width);
            be.PromptBlocksBackward(dctx, dsn, dsa, dzc, dzn, dza, db);
            BackwardChecks.Guards(be);
            return [Get(be, dctx), Get(be, dsn), Get(be, dsa), Get(be, dzc), Get(be, dzn), Get(be, dza)];
        }
        Compare(device, Run, ["dctx", "dstateNormal", "dstateAbnormal", "dzc", "dzn", "dza"]);
    }

    private static void Compare(string device, Func<IBackend, float[][]> run, string[] names)
    {
        using var dev = Backend(device);
        using var cpu = TestBackends.Cpu();
        var expected = run(cpu);
        var actual = run(dev);
        var again = run(dev);
        for (var i = 0; i < names.Length; i++)
        {
            TensorAssert.AllFinite(names[i], actual[i]);
            // Same sums in the same order as the reference; only FMA contraction and sqrtf/expf vs MathF may
            // round differently: a few ulps of O(10) values.
            TensorAssert.Close(names[i], actual[i], expected[i], atol: 1e-5, rtol: 1e-5);
            TensorAssert.BitwiseEqual($"rerun {names[i]}", again[i], actual[i]);
        }
    }
}
