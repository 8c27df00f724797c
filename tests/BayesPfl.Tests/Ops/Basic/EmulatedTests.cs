using BayesPfl.Engine.Backends;
using Xunit;
using static BayesPfl.Tests.Ops.Basic.OpHarness;

namespace BayesPfl.Tests.Ops.Basic;

/// <summary>
/// The CUDA launchers and kernels (run by the kernel emulator) against the CPU reference at hostile shapes:
/// rows 1, 7, 33, 197, 257, 577, 1370; widths 1, 3, 5, 31, 33, 77, 773 (not multiples of 4 or 32). Each case also checks
/// guard bytes after every call, finiteness and a bitwise-equal rerun (see OpHarness). The same cases run on a
/// real GPU at real shapes in <see cref="RealGpuTests"/>.
/// </summary>
public sealed class EmulatedTests
{
    public static TheoryData<int, int> RowShapes => new() { { 1, 1 }, { 7, 3 }, { 33, 31 }, { 197, 33 }, { 257, 77 }, { 7, 773 }, { 1370, 5 } };

    public static TheoryData<int, int, int> GemmShapes => new() { { 1, 1, 1 }, { 7, 3, 31 }, { 33, 77, 33 }, { 197, 31, 7 }, { 257, 33, 77 }, { 3, 773, 5 }, { 577, 5, 9 } };

    public static TheoryData<string> UnaryOps => [.. Unary.All.Select(u => u.Oracle)];

    [Theory]
    [MemberData(nameof(GemmShapes))]
    public void Linear(int m, int k, int n) => BasicCases.Linear(EmulatedMatchesCpu, m, k, n);

    [Theory]
    [MemberData(nameof(GemmShapes))]
    public void BatchedMatMul(int m, int k, int n) => BasicCases.BatchedMatMul(EmulatedMatchesCpu, 3, m, k, n);

    [Theory]
    [MemberData(nameof(RowShapes))]
    public void LayerNorm(int rows, int c) => BasicCases.LayerNorm(EmulatedMatchesCpu, rows, c);

    [Theory]
    [MemberData(nameof(RowShapes))]
    public void L2Normalize(int rows, int c) => BasicCases.L2Normalize(EmulatedMatchesCpu, rows, c);

    [Theory]
    [MemberData(nameof(RowShapes))]
    public void Add(int rows, int c) => BasicCases.Add(EmulatedMatchesCpu, rows, c);

    public static TheoryData<string, int, int> UnaryCases()
    {
        var data = new TheoryData<string, int, int>();
        foreach (var u in Unary.All)
            foreach (var (rows, c) in new[] { (1, 1), (7, 3), (33, 31), (197, 33), (257, 77), (7, 773), (1370, 5) })
                data.Add(u.Oracle, rows, c);
        return data;
    }

    [Theory]
    [MemberData(nameof(UnaryCases))]
    public void UnaryOp(string op, int rows, int c) => BasicCases.Unary(EmulatedMatchesCpu, Unary.All.Single(u => u.Oracle == op), rows, c);
}

/// <summary>The real-GPU variant at the model's shapes (ViT-L/14 at 518 px: 1370 tokens, width 1024, MLP 4096).</summary>
public sealed class RealGpuTests
{
    private static void OnGpu(string op, Spec[] specs, Op run, double atol, double rtol)
    {
        using var gpu = RealGpu.BackendOrSkip();
        GpuMatchesCpu(gpu, op, specs, run, atol, rtol);
    }

    [Fact]
    public void LinearAtVitShapes()
    {
        BasicCases.Linear(OnGpu, 1370, 1024, 4096);
        BasicCases.Linear(OnGpu, 1370, 4096, 1024);
    }

    [Fact]
    public void BatchedMatMulAtAttentionShapes() => BasicCases.BatchedMatMul(OnGpu, 16, 1370, 64, 1370);

    [Fact]
    public void RowOpsAtVitShapes()
    {
        BasicCases.LayerNorm(OnGpu, 2 * 1370, 1024);
        BasicCases.L2Normalize(OnGpu, 1370, 768);
        BasicCases.Add(OnGpu, 1370, 1024);
        foreach (var u in Unary.All) BasicCases.Unary(OnGpu, u, 1370, u == Unary.Softmax ? 1370 : 4096);
    }
}

/// <summary>The op cases shared by the emulated and the real-GPU tests; tolerances justified per case.</summary>
internal static class BasicCases
{
    public delegate void Runner(string op, Spec[] specs, Op run, double atol, double rtol);

    // GEMM: K-term fp32 dot products of uniform[-1,1] values in different summation orders (cuBLAS/emulator vs
    // the blocked CPU path): ~sqrt(K)·2^-24·sqrt(K/3) typical, K·2^-24·sqrt(K) worst; 6e-8·K^1.5 covers it.
    private static double GemmAtol(int k) => 6e-8 * Math.Pow(k, 1.5) + 1e-6;

    public static void Linear(Runner run, int m, int k, int n)
    {
        Spec x = new("x", [m, k]), w = new("w", [n, k]), b = new("b", [n]), dy = new("dy", [m, n]);
        run("Linear", [x, w, b, dy, new("y", [m, n], Role.Output), new("y_nobias", [m, n], Role.Output)], (be, t) =>
        {
            be.Linear(t["y"], t["x"], t["w"], t["b"]);
            be.Linear(t["y_nobias"], t["x"], t["w"], null);
        }, GemmAtol(k), 0);
        run("LinearBackwardInput", [w, dy, new("dx", [m, k], Role.Output)], (be, t) => be.LinearBackwardInput(t["dx"], t["dy"], t["w"]), GemmAtol(n), 0);
        run("LinearBackwardWeight", [x, dy, new("dw", [n, k], Role.Accumulate), new("dbias", [n], Role.Accumulate), new("dw_only", [n, k], Role.Accumulate)],
            (be, t) =>
            {
                be.LinearBackwardWeight(t["dw"], t["dbias"], t["dy"], t["x"]);
                be.LinearBackwardWeight(t["dw_only"], null, t["dy"], t["x"]);
            }, GemmAtol(m), 0);
    }

    public static void BatchedMatMul(Runner run, int batch, int m, int k, int n)
    {
        run("BatchedMatMul", [new("a", [batch, m, k]), new("b", [batch, k, n]), new("bt", [batch, n, k]),
            new("c", [batch, m, n], Role.Output), new("ct", [batch, m, n], Role.Output)], (be, t) =>
        {
            be.BatchedMatMul(t["c"], t["a"], t["b"], false);
            be.BatchedMatMul(t["ct"], t["a"], t["bt"], true);
        }, GemmAtol(k), 0);
    }

    public static void LayerNorm(Runner run, int rows, int c)
    {
        // An offset of 4 on x makes the two-pass variance matter. Row sums of C terms differ in order between the
        // block reduction and the CPU loop: ~sqrt(C)·2^-24 relative on mean/rstd, ~1e-6·sqrt(C/77) abs on O(3) outputs.
        // dgamma/dbeta sum `rows` O(1) products (chunked on the GPU): ~sqrt(rows)·2^-24·rows^0.5 abs.
        var tol = 2e-6 * Math.Sqrt(Math.Max(c, rows));
        run("LayerNorm", [new("x", [rows, c], Lo: 3, Hi: 5), new("gamma", [c]), new("beta", [c]), new("y", [rows, c], Role.Output),
            new("mean", [rows], Role.Output), new("rstd", [rows], Role.Output)], (be, t) =>
            be.LayerNorm(t["y"], t["mean"], t["rstd"], t["x"], t["gamma"], t["beta"], 1e-5f), tol, 1e-5);
        run("LayerNormBackward", [new("x", [rows, c]), new("gamma", [c]), new("dy", [rows, c]), new("mean", [rows], Lo: -0.1f, Hi: 0.1f),
            new("rstd", [rows], Lo: 0.5f, Hi: 2f), new("dx", [rows, c], Role.Output), new("dgamma", [c], Role.Accumulate),
            new("dbeta", [c], Role.Accumulate)], (be, t) =>
            be.LayerNormBackward(t["dx"], t["dgamma"], t["dbeta"], t["dy"], t["x"], t["mean"], t["rstd"], t["gamma"]), tol, 1e-5);
    }

    public static void L2Normalize(Runner run, int rows, int c)
    {
        // Sum of C squares in different orders: ~sqrt(C)·2^-24 relative; the backward's dot product likewise, then
        // subtracted from O(1) values: absolute.
        var tol = 2e-7 * Math.Sqrt(c) + 1e-7;
        run("L2Normalize", [new("x", [rows, c]), new("y", [rows, c], Role.Output), new("norm", [rows], Role.Output)],
            (be, t) => be.L2Normalize(t["y"], t["norm"], t["x"]), tol, 1e-5);
        run("L2NormalizeBackward", [new("dy", [rows, c]), new("y", [rows, c]), new("norm", [rows], Lo: 0.5f, Hi: 2f), new("dx", [rows, c], Role.Output)],
            (be, t) => be.L2NormalizeBackward(t["dx"], t["dy"], t["y"], t["norm"]), tol * Math.Sqrt(c), 1e-5);
    }

    public static void Add(Runner run, int rows, int c) =>
        // One correctly rounded addition everywhere: bitwise equal.
        run("Add", [new("a", [rows, c]), new("b", [rows, c]), new("y", [rows, c], Role.Output)], (be, t) => be.Add(t["y"], t["a"], t["b"]), 0, 0);

    public static void Unary(Runner run, Unary u, int rows, int c)
    {
        float s = u.InputScale;
        // The softmax backward tolerance scales with sqrt(C) (the Σdy·y reduction); the others are per element.
        var rowScale = u == Basic.Unary.Softmax ? Math.Sqrt(c / 77.0) + 1 : 1;
        run(u.Oracle, [new("x", [rows, c], Lo: -s, Hi: s), new("y", [rows, c], Role.Output)], (be, t) => u.Forward(be, t["y"], t["x"]), u.Atol, u.Rtol);
        // Saved outputs lie where the op puts them: tanh in [0,1), a softmax row averaging 1/C (so Σdy·y stays O(1)).
        var savedHi = u == Basic.Unary.Softmax ? 2f / c : u.SavesOutput ? 1 : s;
        run(u.Oracle + " backward", [new("dy", [rows, c], Lo: -3, Hi: 3), new("saved", [rows, c], Lo: u.SavesOutput ? 0 : -s, Hi: savedHi),
            new("dx", [rows, c], Role.Output)], (be, t) => u.Backward(be, t["dx"], t["dy"], t["saved"]), u.GradAtol * rowScale, u.GradRtol);
    }
}
