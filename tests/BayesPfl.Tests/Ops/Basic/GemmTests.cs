using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Ops.Basic.OpHarness;

namespace BayesPfl.Tests.Ops.Basic;

public sealed class GemmTests(BasicOracle oracle) : IClassFixture<BasicOracle>
{
    // fp32 vs PyTorch fp32, K <= 77 products of O(1) terms: both sides round each of the K partial sums
    // (magnitude <= ~10) to 2^-24 relative, in different orders, so they differ by well under 77*6e-8*10 ≈ 5e-5;
    // typical errors are ~sqrt(K) smaller. 2e-5 abs + 1e-5 rel sits between the typical and the worst case.
    private const double OracleAtol = 2e-5, OracleRtol = 1e-5;

    [Fact]
    public void LinearForwardAndGradientsMatchTorch()
    {
        using var cpu = new CpuBackend();
        var x = Put(cpu, "x", oracle.Shape("linear.x"), oracle.F("linear.x"));
        var w = Put(cpu, "w", oracle.Shape("linear.w"), oracle.F("linear.w"));
        var b = Put(cpu, "b", oracle.Shape("linear.b"), oracle.F("linear.b"));
        var dy = Put(cpu, "dy", oracle.Shape("linear.dy"), oracle.F("linear.dy"));
        var y = cpu.Allocate(new Shape(oracle.Shape("linear.y")), "y");
        cpu.Linear(y, x, w, b);
        Expect("linear.y", Get(cpu, y));

        var dx = cpu.Allocate(x.Shape, "dx");
        cpu.LinearBackwardInput(dx, dy, w);
        Expect("linear.dx", Get(cpu, dx));

        // Parameter gradients accumulate: start from a known value and expect it plus the gradient.
        var dw0 = FiniteDiff.RandomFloats((int)w.Length, 5);
        var db0 = FiniteDiff.RandomFloats((int)b.Length, 6);
        var dw = Put(cpu, "dw", oracle.Shape("linear.w"), dw0);
        var db = Put(cpu, "db", oracle.Shape("linear.b"), db0);
        cpu.LinearBackwardWeight(dw, db, dy, x);
        Expect("linear.dw", Get(cpu, dw), dw0);
        Expect("linear.db", Get(cpu, db), db0);
    }

    [Fact]
    public void LinearWithoutBiasMatchesTorch()
    {
        using var cpu = new CpuBackend();
        var x = Put(cpu, "x", oracle.Shape("linear_nobias.x"), oracle.F("linear_nobias.x"));
        var w = Put(cpu, "w", oracle.Shape("linear_nobias.w"), oracle.F("linear_nobias.w"));
        var dy = Put(cpu, "dy", oracle.Shape("linear_nobias.dy"), oracle.F("linear_nobias.dy"));
        var y = cpu.Allocate(new Shape(oracle.Shape("linear_nobias.y")), "y");
        cpu.Linear(y, x, w, null);
        Expect("linear_nobias.y", Get(cpu, y));
        var dw = cpu.Allocate(w.Shape, "dw");
        cpu.LinearBackwardWeight(dw, null, dy, x);
        Expect("linear_nobias.dw", Get(cpu, dw));
        var dx = cpu.Allocate(x.Shape, "dx");
        cpu.LinearBackwardInput(dx, dy, w);
        Expect("linear_nobias.dx", Get(cpu, dx));
    }

    [Theory]
    [InlineData("bmm", false)]
    [InlineData("bmm_t", true)]
    public void BatchedMatMulMatchesTorch(string op, bool transposeB)
    {
        using var cpu = new CpuBackend();
        var a = Put(cpu, "a", oracle.Shape(op + ".a"), oracle.F(op + ".a"));
        var b = Put(cpu, "b", oracle.Shape(op + ".b"), oracle.F(op + ".b"));
        var c = cpu.Allocate(new Shape(oracle.Shape(op + ".y")), "c");
        cpu.BatchedMatMul(c, a, b, transposeB);
        Expect(op + ".y", Get(cpu, c));
        // The input gradient is itself a batched product: da = dy·op(b)ᵀ, i.e. b with the other transpose flag.
        var dy = Put(cpu, "dy", oracle.Shape(op + ".dy"), oracle.F(op + ".dy"));
        var da = cpu.Allocate(a.Shape, "da");
        cpu.BatchedMatMul(da, dy, b, !transposeB);
        Expect(op + ".da", Get(cpu, da));
    }

    // The fast blocked path against the plain loops in double, at shapes that cross every block edge
    // (MR 6, NR 16, KC 256, MC 96, 512-column tasks) and at degenerate ones.
    public static TheoryData<int, int, int> FastShapes => new() { { 1, 1, 1 }, { 7, 3, 31 }, { 33, 77, 17 }, { 197, 257, 33 }, { 100, 600, 530 }, { 13, 1029, 5 } };

    [Theory]
    [MemberData(nameof(FastShapes))]
    public void FastGemmMatchesDoubleReference(int m, int k, int n)
    {
        using var cpu = new CpuBackend();
        float[] xf = FiniteDiff.RandomFloats(m * k, 1), wf = FiniteDiff.RandomFloats(n * k, 2), bf = FiniteDiff.RandomFloats(n, 3);
        float[] dyf = FiniteDiff.RandomFloats(m * n, 4), dw0 = FiniteDiff.RandomFloats(n * k, 5);
        double[] xd = D(xf), wd = D(wf), bd = D(bf), dyd = D(dyf);
        var x = Put(cpu, "x", [m, k], xf);
        var w = Put(cpu, "w", [n, k], wf);
        var dy = Put(cpu, "dy", [m, n], dyf);
        var y = cpu.Allocate(new Shape(m, n), "y");
        cpu.Linear(y, x, w, Put(cpu, "b", [n], bf));
        var yd = new double[m * n];
        GemmReference.Linear<double>(yd, xd, wd, bd, m, k, n);
        FastClose("Linear", Get(cpu, y), yd, k);

        var dx = cpu.Allocate(x.Shape, "dx");
        cpu.LinearBackwardInput(dx, dy, w);
        var dxd = new double[m * k];
        GemmReference.LinearBackwardInput<double>(dxd, dyd, wd, m, k, n);
        FastClose("LinearBackwardInput", Get(cpu, dx), dxd, n);

        var dw = Put(cpu, "dw", [n, k], dw0);
        cpu.LinearBackwardWeight(dw, null, dy, x);
        var dwd = D(dw0);
        GemmReference.LinearBackwardWeight<double>(dwd, [], dyd, xd, m, k, n);
        FastClose("LinearBackwardWeight", Get(cpu, dw), dwd, m);

        foreach (var transposeB in new[] { false, true })
        {
            // Batch 2 of [m,k]·[k,n], reusing the data above (x twice; w read as [k,n] or [n,k]).
            var a2 = Put(cpu, "a", [2, m, k], [.. xf, .. xf.Reverse()]);
            var b2 = Put(cpu, "b", transposeB ? [2, n, k] : [2, k, n], [.. wf, .. wf.Reverse()]);
            var c2 = cpu.Allocate(new Shape(2, m, n), "c");
            cpu.BatchedMatMul(c2, a2, b2, transposeB);
            var cd = new double[2 * m * n];
            GemmReference.BatchedMatMul<double>(cd, D(Get(cpu, a2)), D(Get(cpu, b2)), 2, m, k, n, transposeB);
            FastClose($"BatchedMatMul(transposeB={transposeB})", Get(cpu, c2), cd, k);
        }
    }

    [Fact]
    public void FastGemmIsDeterministic()
    {
        // Several row blocks and column tasks run on different threads: each element's sum order must not depend on them.
        const int m = 250, k = 300, n = 1100;
        using var cpu = new CpuBackend();
        var x = Put(cpu, "x", [m, k], FiniteDiff.RandomFloats(m * k, 1));
        var w = Put(cpu, "w", [n, k], FiniteDiff.RandomFloats(n * k, 2));
        var y = cpu.Allocate(new Shape(m, n), "y");
        cpu.Linear(y, x, w, null);
        var first = Get(cpu, y);
        cpu.Linear(y, x, w, null);
        TensorAssert.BitwiseEqual("Linear rerun", Get(cpu, y), first);
    }

    [Fact]
    public void GradientsMatchFiniteDifferences()
    {
        const int m = 3, k = 4, n = 5;
        double[] x = FiniteDiff.Random(m * k, 1), w = FiniteDiff.Random(n * k, 2), b = FiniteDiff.Random(n, 3), u = FiniteDiff.Random(m * n, 4);
        double Loss()
        {
            var y = new double[m * n];
            GemmReference.Linear<double>(y, x, w, b, m, k, n);
            return FiniteDiff.Dot(y, u);
        }
        var dx = new double[m * k];
        GemmReference.LinearBackwardInput<double>(dx, u, w, m, k, n);
        double[] dw = new double[n * k], db = new double[n];
        GemmReference.LinearBackwardWeight<double>(dw, db, u, x, m, k, n);
        FdClose("Linear dx", dx, FiniteDiff.Gradient(x, Loss));
        FdClose("Linear dw", dw, FiniteDiff.Gradient(w, Loss));
        FdClose("Linear dbias", db, FiniteDiff.Gradient(b, Loss));
    }

    /// <summary>Analytic double gradients vs central differences: agreement to ~1e-9 (see FiniteDiff); 1e-7 leaves margin.</summary>
    internal static void FdClose(string name, double[] analytic, double[] numeric) => TensorAssert.Close(name, analytic, numeric, 1e-7, 1e-6);

    // fp32 blocked sums vs exact double: each of the `inner` fp32 additions rounds by <= 2^-24 of a partial
    // sum of magnitude O(sqrt(inner)) for uniform[-1,1] data, so the worst case is ~6e-8 * inner^1.5; typical
    // errors are sqrt(inner) smaller, which the NMSE bound (1e-10, i.e. 1e-5 relative RMS) checks.
    private static void FastClose(string name, float[] got, double[] want, int inner) =>
        TensorAssert.Close(name, D(got), want, 6e-8 * Math.Pow(inner, 1.5) + 1e-6, 0, maxNmse: 1e-10);

    private void Expect(string name, float[] got, float[]? start = null)
    {
        var want = oracle.F(name);
        if (start is not null)
            for (var i = 0; i < want.Length; i++) want[i] += start[i];
        TensorAssert.Close($"{name} (oracle seed {oracle.Seed})", got, want, OracleAtol, OracleRtol);
    }

    private static double[] D(float[] v) => [.. v.Select(f => (double)f)];
}
