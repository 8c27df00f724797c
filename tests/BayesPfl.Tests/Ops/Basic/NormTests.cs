using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Ops.Basic.OpHarness;

namespace BayesPfl.Tests.Ops.Basic;

public sealed class NormTests(BasicOracle oracle) : IClassFixture<BasicOracle>
{
    private const float Eps = 1e-5f;

    [Fact]
    public void LayerNormForwardAndGradientsMatchTorch()
    {
        using var cpu = new CpuBackend();
        var shape = oracle.Shape("layernorm.x");
        int c = shape[^1], rows = (int)(new Shape(shape).Length / c);
        var x = Put(cpu, "x", shape, oracle.F("layernorm.x"));
        var g = Put(cpu, "gamma", [c], oracle.F("layernorm.g"));
        var b = Put(cpu, "beta", [c], oracle.F("layernorm.b"));
        var dy = Put(cpu, "dy", shape, oracle.F("layernorm.dy"));
        Tensor y = cpu.Allocate(new Shape(shape), "y"), mean = cpu.Allocate(new Shape(rows), "mean"), rstd = cpu.Allocate(new Shape(rows), "rstd");
        cpu.LayerNorm(y, mean, rstd, x, g, b, Eps);
        // Rows of 77 values around 5±3: the mean's sum rounds to ~77·2^-24·5 relative order 1e-6 abs; rstd ≈ 1/3
        // inherits ~sqrt(C)·2^-24 relative; y = O(3) values then carry ~1e-6 abs, so 1e-5 abs/rel has margin.
        Close("layernorm.mean", Get(cpu, mean), 1e-5, 1e-6);
        Close("layernorm.rstd", Get(cpu, rstd), 0, 1e-5);
        Close("layernorm.y", Get(cpu, y), 1e-5, 1e-5);

        var dx = cpu.Allocate(new Shape(shape), "dx");
        var dg0 = FiniteDiff.RandomFloats(c, 7);
        var db0 = FiniteDiff.RandomFloats(c, 8);
        var dg = Put(cpu, "dgamma", [c], dg0);
        var db = Put(cpu, "dbeta", [c], db0);
        cpu.LayerNormBackward(dx, dg, db, dy, x, mean, rstd, g);
        // dx subtracts two row means of O(1) products (77 terms): ~1e-6 abs before scaling by rstd ≈ 1/3.
        // dgamma/dbeta sum 14 rows of O(3) products onto an O(1) start: ~14·2^-24·10 ≈ 1e-5 worst case.
        Close("layernorm.dx", Get(cpu, dx), 1e-5, 1e-5);
        Close("layernorm.dg", Get(cpu, dg), 2e-5, 1e-5, dg0);
        Close("layernorm.db", Get(cpu, db), 2e-5, 1e-5, db0);
    }

    [Fact]
    public void L2NormalizeForwardAndGradientMatchTorch()
    {
        using var cpu = new CpuBackend();
        var shape = oracle.Shape("l2norm.x");
        var rows = shape[0];
        var x = Put(cpu, "x", shape, oracle.F("l2norm.x"));
        var dy = Put(cpu, "dy", shape, oracle.F("l2norm.dy"));
        Tensor y = cpu.Allocate(new Shape(shape), "y"), norm = cpu.Allocate(new Shape(rows), "norm"), dx = cpu.Allocate(new Shape(shape), "dx");
        cpu.L2Normalize(y, norm, x);
        cpu.L2NormalizeBackward(dx, dy, y, norm);
        // Sums of 77 squares in different orders: ~sqrt(77)·2^-24 ≈ 5e-7 relative on the norm and on y; the
        // gradient subtracts y·(dy·y) from dy (partial cancellation, O(1) values): 2e-6 abs.
        Close("l2norm.norm", Get(cpu, norm), 0, 2e-6);
        Close("l2norm.y", Get(cpu, y), 1e-7, 2e-6);
        Close("l2norm.dx", Get(cpu, dx), 2e-6, 1e-5);
    }

    [Fact]
    public void LayerNormGradientsMatchFiniteDifferences()
    {
        const int rows = 3, c = 6;
        // A row offset of 4 exercises the centring; gamma away from zero keeps every term visible.
        double[] x = [.. FiniteDiff.Random(rows * c, 21).Select(v => v + 4)], g = FiniteDiff.Random(c, 22), b = FiniteDiff.Random(c, 23);
        var u = FiniteDiff.Random(rows * c, 24);
        double[] mean = new double[rows], rstd = new double[rows];
        double Loss()
        {
            var y = new double[rows * c];
            LayerNormReference.Forward<double>(y, mean, rstd, x, g, b, rows, c, 1e-5);
            return FiniteDiff.Dot(y, u);
        }
        Loss();
        double[] dx = new double[rows * c], dg = new double[c], db = new double[c];
        LayerNormReference.Backward<double>(dx, dg, db, u, x, mean, rstd, g, rows, c);
        GemmTests.FdClose("LayerNorm dx", dx, FiniteDiff.Gradient(x, Loss));
        GemmTests.FdClose("LayerNorm dgamma", dg, FiniteDiff.Gradient(g, Loss));
        GemmTests.FdClose("LayerNorm dbeta", db, FiniteDiff.Gradient(b, Loss));
    }

    [Fact]
    public void L2NormalizeGradientMatchesFiniteDifferences()
    {
        const int rows = 3, c = 5;
        double[] x = FiniteDiff.Random(rows * c, 31), u = FiniteDiff.Random(rows * c, 32), norm = new double[rows], y = new double[rows * c];
        double Loss()
        {
            RowReference.L2Normalize<double>(y, norm, x, rows, c);
            return FiniteDiff.Dot(y, u);
        }
        Loss();
        var dx = new double[rows * c];
        RowReference.L2NormalizeBackward<double>(dx, u, [.. y], [.. norm], rows, c);
        GemmTests.FdClose("L2Normalize dx", dx, FiniteDiff.Gradient(x, Loss));
    }

    [Fact]
    public void ErfMatchesLibmToDoublePrecision()
    {
        double[] x = oracle.D("erf.x"), erf = oracle.D("erf.erf"), erfc = oracle.D("erf.erfc");
        double[] gotErf = [.. x.Select(Erf.Of)], gotErfc = [.. x.Select(Erf.Complement)];
        // Cody's approximations are good to ~18 digits; evaluating them in double costs a few ulps (2 seen), and
        // glibc's erf/erfc (PyTorch's fp64 path) are within ~1 ulp: 1e-15 relative is 5-9 ulps. erfc underflows
        // to 0 past ~26.5 on both sides.
        TensorAssert.Close("erf", gotErf, erf, 1e-300, 1e-15);
        TensorAssert.Close("erfc", gotErfc, erfc, 1e-300, 1e-15);
    }

    private void Close(string name, float[] got, double atol, double rtol, float[]? start = null)
    {
        var want = oracle.F(name);
        if (start is not null)
            for (var i = 0; i < want.Length; i++) want[i] += start[i];
        TensorAssert.Close($"{name} (oracle seed {oracle.Seed})", got, want, atol, rtol);
    }
}
