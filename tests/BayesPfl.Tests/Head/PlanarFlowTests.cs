using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Head;

/// <summary>Planar flows (spec 5.2): log-det against the numerical Jacobian, kernel against the reference.</summary>
public class PlanarFlowTests
{
    private const int Steps = 10;

    [Theory]
    [InlineData(3, false)]
    [InlineData(4, true)]
    [InlineData(5, false)]
    public void LogDetMatchesNumericalJacobian(int dim, bool shared)
    {
        const int samples = 3;
        var p = shared ? 1 : samples;
        // u scaled by 0.3 keeps |1 + (1 − tanh²)·w·u| away from 0, where the reference's +1e-5 would matter.
        var u = FiniteDiff.Random(p * Steps * dim, 1, 0.3);
        var w = FiniteDiff.Random(p * Steps * dim, 2);
        var b = FiniteDiff.Random(p * Steps, 3);
        var z0 = FiniteDiff.Random(samples * dim, 4);
        var n = new PlanarFlowReference.Dims(samples, Steps, dim, shared);
        var zK = new double[samples * dim];
        var logdet = new double[samples];
        var a = new double[samples * Steps];

        PlanarFlowReference.Forward<double>(zK, logdet, a, z0, u, w, b, n);

        for (var r = 0; r < samples; r++)
        {
            var jac = new double[dim, dim];
            for (var i = 0; i < dim; i++)
            {
                var keep = z0[r * dim + i];
                z0[r * dim + i] = keep + 1e-6;
                var plus = Flow(z0, u, w, b, n);
                z0[r * dim + i] = keep - 1e-6;
                var minus = Flow(z0, u, w, b, n);
                z0[r * dim + i] = keep;
                for (var o = 0; o < dim; o++) jac[o, i] = (plus[r * dim + o] - minus[r * dim + o]) / 2e-6;
            }
            var exact = Math.Log(Math.Abs(Determinant(jac)));
            // Central differences are accurate to ~1e-8 relative (FiniteDiff), so log|det J| to ~1e-7; the
            // reference's +1e-5 inside each of the 10 logs shifts the sum by ≤ 10·1e-5/min|1+ψ·u| ≲ 1e-3 here.
            Assert.True(Math.Abs(logdet[r] - exact) < 1e-3, $"sample {r}: logdet {logdet[r]} vs log|det J| {exact}");
        }
    }

    private static double[] Flow(double[] z0, double[] u, double[] w, double[] b, PlanarFlowReference.Dims n)
    {
        var zK = new double[z0.Length];
        PlanarFlowReference.Forward<double>(zK, new double[n.Samples], new double[n.Samples * n.Steps], z0, u, w, b, n);
        return zK;
    }

    private static double Determinant(double[,] m)
    {
        var n = m.GetLength(0);
        var a = (double[,])m.Clone();
        double det = 1;
        for (var c = 0; c < n; c++)
        {
            var piv = c;
            for (var r = c + 1; r < n; r++) if (Math.Abs(a[r, c]) > Math.Abs(a[piv, c])) piv = r;
            if (piv != c)
            {
                det = -det;
                for (var k = 0; k < n; k++) (a[c, k], a[piv, k]) = (a[piv, k], a[c, k]);
            }
            det *= a[c, c];
            for (var r = c + 1; r < n; r++)
            {
                var f = a[r, c] / a[c, c];
                for (var k = c; k < n; k++) a[r, k] -= f * a[c, k];
            }
        }
        return det;
    }

    [Theory]
    [InlineData(1, 1, 1, false)]
    [InlineData(3, 10, 7, false)]
    [InlineData(3, 10, 33, true)]
    [InlineData(10, 10, 768, true)]
    [InlineData(2, 10, 768, false)]
    [InlineData(1, 3, 1000, false)]
    public void EmulatedKernelMatchesCpu(int samples, int steps, int dim, bool shared) => KernelMatchesCpu("emu", samples, steps, dim, shared);

    [Theory]
    [InlineData(10, 10, 768, true)]
    [InlineData(10, 10, 768, false)]
    public void GpuKernelMatchesCpuAtModelShape(int samples, int steps, int dim, bool shared) => KernelMatchesCpu("gpu", samples, steps, dim, shared);

    private static void KernelMatchesCpu(string device, int samples, int steps, int dim, bool shared)
    {
        var p = shared ? 1 : samples;
        // w scaled by 1/sqrt(D) keeps w·z = O(1) so tanh is not saturated and every step matters.
        var ws = 1f / MathF.Sqrt(dim);
        var u = FiniteDiff.RandomFloats(p * steps * dim, 11, 0.5f);
        var w = FiniteDiff.RandomFloats(p * steps * dim, 12, ws);
        var b = FiniteDiff.RandomFloats(p * steps, 13);
        var z0 = FiniteDiff.RandomFloats(samples * dim, 14);
        (float[] Z, float[] LogDet, float[] A) Run(IBackend be)
        {
            using var f = new PlanarFlowRun(be, z0, u, w, b, samples, p, steps, dim);
            return (Get(be, f.ZK), Get(be, f.LogDet), Get(be, f.A));
        }
        using var emu = Backend(device);
        using var cpu = TestBackends.Cpu();
        var expected = Run(cpu);
        var actual = Run(emu);
        // The only difference is the order of the two dot products per step (tree vs sequential): relative
        // float rounding ~1e-6 of Σ|w·z| terms, carried through ≤ 10 steps with |u·tanh'| ≲ 1 amplification.
        TensorAssert.Close("a", actual.A, expected.A, atol: 2e-5, rtol: 1e-4);
        TensorAssert.Close("zK", actual.Z, expected.Z, atol: 2e-5, rtol: 1e-4);
        TensorAssert.Close("logdet", actual.LogDet, expected.LogDet, atol: 2e-5, rtol: 1e-4);
        TensorAssert.BitwiseEqual("rerun zK", Run(emu).Z, actual.Z);
    }

    [Fact]
    public void RejectsMismatchedParameterSets()
    {
        foreach (var be in new IBackend[] { TestBackends.Cpu(), TestBackends.Emulated() })
        {
            using var _ = be;
            using var z0 = be.Allocate(new Shape(3, 4), "z0");
            using var u = be.Allocate(new Shape(2, 10, 4), "u");
            using var w = be.Allocate(new Shape(2, 10, 4), "w");
            using var b = be.Allocate(new Shape(2, 10), "b");
            using var zK = be.Allocate(new Shape(3, 4), "zK");
            using var ld = be.Allocate(new Shape(3), "logdet");
            using var a = be.Allocate(new Shape(3, 10), "a");
            var e = Assert.Throws<ArgumentException>(() => be.PlanarFlow(zK, ld, a, z0, u, w, b));
            Assert.Contains("PlanarFlow", e.Message);
            Assert.Contains("u has shape [2,10,4]", e.Message);
        }
    }
}
