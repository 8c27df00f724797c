using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.KernelEmu;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Head;

/// <summary>PlanarFlowBackward: the double reference against finite differences, the kernel against the reference.</summary>
public class PlanarFlowBackwardTests
{
    private sealed record Case(PlanarFlowReference.Dims N, double[] Z0, double[] U, double[] W, double[] B, double[] DzK, double[] DLogDet);

    private static Case Make(int samples, int steps, int dim, bool shared, double uScale, int seed)
    {
        var p = shared ? 1 : samples;
        return new Case(new PlanarFlowReference.Dims(samples, steps, dim, shared && samples != 1),
            FiniteDiff.Random(samples * dim, seed), FiniteDiff.Random(p * steps * dim, seed + 1, uScale),
            FiniteDiff.Random(p * steps * dim, seed + 2, 1 / Math.Sqrt(dim)), FiniteDiff.Random(p * steps, seed + 3),
            FiniteDiff.Random(samples * dim, seed + 4), FiniteDiff.Random(samples, seed + 5));
    }

    private static double Loss(Case c)
    {
        var n = c.N;
        var zK = new double[n.Samples * n.Dim];
        var logdet = new double[n.Samples];
        PlanarFlowReference.Forward<double>(zK, logdet, new double[n.Samples * n.Steps], c.Z0, c.U, c.W, c.B, n);
        return FiniteDiff.Dot(zK, c.DzK) + FiniteDiff.Dot(logdet, c.DLogDet);
    }

    private static (double[] Dz0, double[] Du, double[] Dw, double[] Db) Analytic(Case c)
    {
        var n = c.N;
        var a = new double[n.Samples * n.Steps];
        PlanarFlowReference.Forward<double>(new double[n.Samples * n.Dim], new double[n.Samples], a, c.Z0, c.U, c.W, c.B, n);
        var g = (new double[c.Z0.Length], new double[c.U.Length], new double[c.W.Length], new double[c.B.Length]);
        PlanarFlowReference.Backward<double>(g.Item1, g.Item2, g.Item3, g.Item4, c.DzK, c.DLogDet, a, c.Z0, c.U, c.W, n);
        return g;
    }

    private static void CheckAgainstFiniteDifferences(Case c)
    {
        var (dz0, du, dw, db) = Analytic(c);
        // FiniteDiff's central differences are good to ~1e-8 relative on these O(1) smooth functions; the
        // 1/(|ψ| + 1e-5) factor of the log-det is ≤ ~10 here (|ψ| ≥ ~0.1), so 1e-6 + 1e-6·|g| leaves margin while
        // a missing term (e.g. the log-det's path through a, or a wrong sign) is off by ≥ 1e-2.
        TensorAssert.Close("dz0", dz0, FiniteDiff.Gradient(c.Z0, () => Loss(c)), atol: 1e-6, rtol: 1e-6);
        TensorAssert.Close("du", du, FiniteDiff.Gradient(c.U, () => Loss(c)), atol: 1e-6, rtol: 1e-6);
        TensorAssert.Close("dw", dw, FiniteDiff.Gradient(c.W, () => Loss(c)), atol: 1e-6, rtol: 1e-6);
        TensorAssert.Close("db", db, FiniteDiff.Gradient(c.B, () => Loss(c)), atol: 1e-6, rtol: 1e-6);
    }

    [Theory]
    [InlineData(1, 1, 1, false)]
    [InlineData(3, 4, 5, false)]
    [InlineData(3, 4, 5, true)]
    [InlineData(2, 10, 7, true)]
    [InlineData(1, 10, 3, true)]
    public void ReferenceMatchesFiniteDifferences(int samples, int steps, int dim, bool shared) =>
        // u scaled by 0.3 keeps ψ = 1 + t'·w·u near 1, away from the kink of |ψ|.
        CheckAgainstFiniteDifferences(Make(samples, steps, dim, shared, 0.3, samples * 100 + dim));

    [Fact]
    public void ReferenceMatchesFiniteDifferencesWhereTheLogDetArgumentIsNegative()
    {
        // One step with u = −10·w/|w|²: w·u = −10, and with |a| ≤ ~0.6 (small z0, b) t' > 0.7 so ψ = 1 − 10·t' < −6:
        // the d|ψ|/dψ = −1 branch, which a sign error in the log-det derivative would get wrong.
        var c = Make(3, 1, 4, false, 1, 77);
        for (var r = 0; r < 3; r++)
        {
            var w = c.W.AsSpan(r * 4, 4);
            var ww = FiniteDiff.Dot(w, w);
            for (var i = 0; i < 4; i++) c.U[r * 4 + i] = -10 * w[i] / ww;
            c.B[r] *= 0.1;
            for (var i = 0; i < 4; i++) c.Z0[r * 4 + i] *= 0.1;
            var t = Math.Tanh(FiniteDiff.Dot(w, c.Z0.AsSpan(r * 4, 4)) + c.B[r]);
            Assert.True(1 - 10 * (1 - t * t) < -6, $"sample {r}: ψ is not negative enough for this test");
        }
        CheckAgainstFiniteDifferences(c);
    }

    [Theory]
    [InlineData(1, 1, 1, false)]
    [InlineData(3, 10, 7, false)]
    [InlineData(3, 10, 33, true)]
    [InlineData(7, 3, 130, true)]
    [InlineData(2, 10, 257, false)]
    public void EmulatedKernelMatchesCpu(int samples, int steps, int dim, bool shared) => KernelMatchesCpu("emu", samples, steps, dim, shared);

    [Theory]
    [InlineData(10, 10, 768, true)]
    [InlineData(10, 10, 768, false)]
    public void GpuKernelMatchesCpuAtModelShape(int samples, int steps, int dim, bool shared) => KernelMatchesCpu("gpu", samples, steps, dim, shared);

    private static void KernelMatchesCpu(string device, int samples, int steps, int dim, bool shared)
    {
        var p = shared ? 1 : samples;
        var u = FiniteDiff.RandomFloats(p * steps * dim, 21, 0.5f);
        var w = FiniteDiff.RandomFloats(p * steps * dim, 22, 1f / MathF.Sqrt(dim));
        var b = FiniteDiff.RandomFloats(p * steps, 23);
        var z0 = FiniteDiff.RandomFloats(samples * dim, 24);
        var dzK = FiniteDiff.RandomFloats(samples * dim, 25);
        var dld = FiniteDiff.RandomFloats(samples, 26);
        // Parameter gradients accumulate: start them from non-zero values; dz0 is overwritten: start it from NaN.
        var du0 = FiniteDiff.RandomFloats(u.Length, 27);
        var dw0 = FiniteDiff.RandomFloats(w.Length, 28);
        var db0 = FiniteDiff.RandomFloats(b.Length, 29);
        float[][] Run(IBackend be)
        {
            using var f = new PlanarFlowRun(be, z0, u, w, b, samples, p, steps, dim);
            using var tdzK = Put(be, "dzK", dzK, samples, dim);
            using var tdld = Put(be, "dlogdet", dld, samples);
            using var dz0 = Put(be, "dz0", BackwardChecks.NaNs(z0.Length), samples, dim);
            using var du = Put(be, "du", du0, p, steps, dim);
            using var dw = Put(be, "dw", dw0, p, steps, dim);
            using var db = Put(be, "db", db0, p, steps);
            be.PlanarFlowBackward(dz0, du, dw, db, tdzK, tdld, f.A, f.Z0, f.U, f.W, f.B);
            BackwardChecks.Guards(be);
            return [Get(be, dz0), Get(be, du), Get(be, dw), Get(be, db)];
        }
        using var dev = Backend(device);
        using var cpu = TestBackends.Cpu();
        var expected = Run(cpu);
        var actual = Run(dev);
        string[] names = ["dz0", "du", "dw", "db"];
        for (var i = 0; i < names.Length; i++)
        {
            TensorAssert.AllFinite(names[i], actual[i]);
            // Device and CPU differ only in the order of the two length-D dot products per step (tree vs
            // sequential) and FMA contraction: ~1e-6 relative on a and g·u, carried back through ≤ 10 steps
            // whose Jacobians |I + t'·w·uᵀ| ≲ 2 here; gradients are O(1..10). Measured: ≤ 3e-7 absolute on dz0.
            TensorAssert.Close(names[i], actual[i], expected[i], atol: 2e-5, rtol: 1e-4);
        }
        var again = Run(dev);
        for (var i = 0; i < names.Length; i++) TensorAssert.BitwiseEqual($"rerun {names[i]}", again[i], actual[i]);
    }

    [Fact]
    public void RejectsGradientsShapedUnlikeTheirValues()
    {
        foreach (var be in new IBackend[] { TestBackends.Cpu(), TestBackends.Emulated() })
        {
            using var _ = be;
            Tensor T(string name, params int[] dims) => be.Allocate(new Shape(dims), name);
            using var z0 = T("z0", 3, 4);
            using var u = T("u", 3, 10, 4);
            using var w = T("w", 3, 10, 4);
            using var b = T("b", 3, 10);
            using var a = T("a", 3, 10);
            using var dzK = T("dzK", 3, 4);
            using var dld = T("dlogdet", 3);
            using var dz0 = T("dz0", 3, 4);
            using var du = T("du", 1, 10, 4);
            using var dw = T("dw", 3, 10, 4);
            using var db = T("db", 3, 10);
            var e = Assert.Throws<ArgumentException>(() => be.PlanarFlowBackward(dz0, du, dw, db, dzK, dld, a, z0, u, w, b));
            Assert.Contains("PlanarFlowBackward: du has shape [1,10,4] but u has shape [3,10,4]", e.Message);
        }
    }
}

/// <summary>Checks shared by the backward tests of the head and of the embedding.</summary>
internal static class BackwardChecks
{
    /// <summary>On the emulator, fails if any kernel wrote past either end of a device buffer.</summary>
    public static void Guards(IBackend be)
    {
        if (be is Engine.Backends.Cuda.CudaBackend { Gpu: EmuGpu emu }) emu.CheckGuards();
    }

    public static float[] NaNs(int n) => Enumerable.Repeat(float.NaN, n).ToArray();
}
