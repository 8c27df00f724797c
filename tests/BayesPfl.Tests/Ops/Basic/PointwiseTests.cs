using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Ops.Basic.OpHarness;

namespace BayesPfl.Tests.Ops.Basic;

public sealed class PointwiseTests(BasicOracle oracle) : IClassFixture<BasicOracle>
{
    public static TheoryData<string> Ops => [.. Unary.All.Select(u => u.Oracle)];

    private static Unary Op(string name) => Unary.All.Single(u => u.Oracle == name);

    [Theory]
    [MemberData(nameof(Ops))]
    public void ForwardAndBackwardMatchTorch(string name)
    {
        var u = Op(name);
        using var cpu = new CpuBackend();
        var shape = oracle.Shape(name + ".x");
        var x = Put(cpu, "x", shape, oracle.F(name + ".x"));
        var dy = Put(cpu, "dy", shape, oracle.F(name + ".dy"));
        var y = cpu.Allocate(new Shape(shape), "y");
        u.Forward(cpu, y, x);
        TensorAssert.Close($"{name}.y (oracle seed {oracle.Seed})", Get(cpu, y), oracle.F(name + ".y"), u.Atol, u.Rtol);
        var dx = cpu.Allocate(new Shape(shape), "dx");
        u.Backward(cpu, dx, dy, u.SavesOutput ? y : x);
        TensorAssert.Close($"{name}.dx (oracle seed {oracle.Seed})", Get(cpu, dx), oracle.F(name + ".dx"), u.GradAtol, u.GradRtol);
    }

    [Theory]
    [MemberData(nameof(Ops))]
    public void BackwardMatchesFiniteDifferences(string name)
    {
        var u = Op(name);
        const int rows = 3, c = 7;
        var x = FiniteDiff.Random(rows * c, 11, u.InputScale);
        var w = FiniteDiff.Random(rows * c, 12);
        // Inputs stay within ±InputScale ≤ 10, off the softplus switch at 20 where the function jumps by 2e-9.
        double Loss()
        {
            var y = new double[rows * c];
            u.ForwardRef(y, x, rows, c);
            return FiniteDiff.Dot(y, w);
        }
        var saved = new double[rows * c];
        if (u.SavesOutput) u.ForwardRef(saved, x, rows, c);
        else x.CopyTo(saved, 0);
        var dx = new double[rows * c];
        u.BackwardRef(dx, w, saved, rows, c);
        GemmTests.FdClose(name + " dx", dx, FiniteDiff.Gradient(x, Loss));
    }

    [Fact]
    public void SoftplusIsLinearAboveTheThreshold()
    {
        double[] x = [19.5, 20.5, 50, -50], y = new double[4], dx = new double[4];
        PointwiseReference.Softplus<double>(y, x);
        PointwiseReference.SoftplusBackward<double>(dx, [1, 1, 1, 1], x);
        // At x = -50, log(1+e^x) = e^x − e^2x/2 + ...: e^x itself to double precision (a naive log(1+e^x) gives 0).
        Assert.Equal([Math.Log(1 + Math.Exp(19.5)), 20.5, 50, Math.Exp(-50)], y);
        Assert.Equal(1.0, dx[1]);
        Assert.Equal(1.0, dx[2]);
    }

    [Fact]
    public void Log1pIsAccurateForTinyArguments()
    {
        // Reference values from the series u − u²/2 + u³/3 − u⁴/4 (the next term is below 1e-16 relative for u ≤ 1e-4).
        foreach (var u in new[] { 1e-20, 1e-10, 3e-8, 1e-4 })
            Assert.Equal(u - u * u / 2 + u * u * u / 3 - u * u * u * u / 4, PointwiseReference.Log1p(u), u * 1e-15);
        Assert.Equal(Math.Log(2.5), PointwiseReference.Log1p(1.5), 1e-15);
        Assert.Equal(1e-30f, PointwiseReference.Log1p(1e-30f));
    }

    [Fact]
    public void AddMatchesTorchExactly()
    {
        using var cpu = new CpuBackend();
        var shape = oracle.Shape("add.a");
        var a = Put(cpu, "a", shape, oracle.F("add.a"));
        var b = Put(cpu, "b", shape, oracle.F("add.b"));
        var y = cpu.Allocate(new Shape(shape), "y");
        cpu.Add(y, a, b);
        // One correctly rounded fp32 addition on both sides: bitwise equal.
        TensorAssert.Close("add.y", Get(cpu, y), oracle.F("add.y"), 0, 0);
        // y may alias an input.
        cpu.Add(a, a, b);
        TensorAssert.BitwiseEqual("add aliased", Get(cpu, a), Get(cpu, y));
    }
}
