using System.Globalization;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Ops.Attention.DeviceKit;

namespace BayesPfl.Tests.Ops.Attention;

/// <summary>The CPU reference against the PyTorch oracle, and its backward against finite differences.</summary>
public class AttentionReferenceTests
{
    public static TheoryData<int, int, int, int, int, bool, double> OracleCases => new()
    {
        { 2, 7, 7, 2, 8, true, 0 },          // text-like: causal, two prompts
        { 1, 1, 1, 1, 64, true, 0 },         // a single token
        { 1, 5, 13, 3, 16, false, 0.3 },     // cross attention, arbitrary scale
        { 2, 33, 33, 2, 64, false, 0 },      // vision-like
        { 1, 6, 37, 4, 192, false, 0.036084391824351615 },  // RCA: 4 heads x 192, scale 768^-0.5
    };

    [Theory]
    [MemberData(nameof(OracleCases))]
    public void MatchesPyTorch(int batch, int nq, int nk, int heads, int dim, bool causal, double scale)
    {
        var args = new List<string> { "--batch", $"{batch}", "--nq", $"{nq}", "--nk", $"{nk}", "--heads", $"{heads}", "--dim", $"{dim}", "--causal", causal ? "1" : "0" };
        if (scale > 0) args.AddRange(["--scale", scale.ToString("R", CultureInfo.InvariantCulture)]);
        using var f = Oracle.Run("ops_attention.py", [.. args]);
        var s = float.Parse(f.Metadata["scale"], CultureInfo.InvariantCulture);
        using var cpu = TestBackends.Cpu();
        int w = heads * dim;
        var q = Put(cpu, "q", f.ReadFloats("q"), batch, nq, w);
        var k = Put(cpu, "k", f.ReadFloats("k"), batch, nk, w);
        var v = Put(cpu, "v", f.ReadFloats("v"), batch, nk, w);
        var dout = Put(cpu, "dout", f.ReadFloats("dout"), batch, nq, w);
        var o = cpu.Allocate(new([batch, nq, w]), "o");
        var lse = cpu.Allocate(new([batch, heads, nq]), "lse");
        cpu.Attention(o, lse, q, k, v, heads, causal, s);
        var dq = cpu.Allocate(q.Shape, "dq");
        var dk = cpu.Allocate(k.Shape, "dk");
        var dv = cpu.Allocate(v.Shape, "dv");
        cpu.AttentionBackward(dq, dk, dv, dout, q, k, v, o, lse, heads, causal, s);

        // float32 against float64 from the same float32 inputs: scores are dot products of up to 192 N(0,1)
        // products (rounding ~ sqrt(192)·6e-8·|terms| ≈ 1e-6, times scale), o and lse are O(1) averages and
        // logs of them; 2e-5 absolute leaves a 10x margin. Gradients sum up to Nk terms of O(1) more, hence 1e-4.
        TensorAssert.Close("o", Get(o), f.ReadFloats("o"), 2e-5, 1e-5);
        TensorAssert.Close("lse", Get(lse), f.ReadFloats("lse"), 2e-5, 1e-5);
        TensorAssert.Close("dq", Get(dq), f.ReadFloats("dq"), 1e-4, 1e-4);
        TensorAssert.Close("dk", Get(dk), f.ReadFloats("dk"), 1e-4, 1e-4);
        TensorAssert.Close("dv", Get(dv), f.ReadFloats("dv"), 1e-4, 1e-4);
    }

    [Theory]
    [InlineData(false, 3, 4)]
    [InlineData(true, 4, 4)]
    public void BackwardMatchesFiniteDifferences(bool causal, int nq, int nk)
    {
        const int batch = 2, heads = 2, dim = 3;
        const double scale = 0.7;
        var n = new AttentionReference.Dims(batch, nq, nk, heads, dim);
        int w = heads * dim;
        var q = FiniteDiff.Random(batch * nq * w, 1);
        var k = FiniteDiff.Random(batch * nk * w, 2);
        var v = FiniteDiff.Random(batch * nk * w, 3);
        var weight = FiniteDiff.Random(batch * nq * w, 4);
        var o = new double[q.Length];
        var lse = new double[batch * heads * nq];
        double Loss()
        {
            AttentionReference.Forward<double>(o, lse, q, k, v, n, causal, scale);
            return FiniteDiff.Dot(o, weight);
        }
        var numeric = new[] { FiniteDiff.Gradient(q, Loss), FiniteDiff.Gradient(k, Loss), FiniteDiff.Gradient(v, Loss) };
        Loss();
        double[] dq = new double[q.Length], dk = new double[k.Length], dv = new double[v.Length];
        AttentionReference.Backward<double>(dq, dk, dv, weight, q, k, v, o, lse, n, causal, scale);

        // Central differences in double on a smooth function of O(1) inputs: error ~1e-9 (see FiniteDiff);
        // a wrong term in the analytic gradient shows up at O(0.01..1).
        TensorAssert.Close("dq", dq, numeric[0], 1e-7, 1e-6);
        TensorAssert.Close("dk", dk, numeric[1], 1e-7, 1e-6);
        TensorAssert.Close("dv", dv, numeric[2], 1e-7, 1e-6);
    }
}
