using System.Runtime.InteropServices;
using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Head.HeadOps;

namespace BayesPfl.Tests.Head;

/// <summary>One run of tests/reference/head_backward.py (fresh seed): float32 inputs, float64 autograd gradients.</summary>
public sealed class HeadBackwardOracle : IDisposable
{
    public SafeTensorsFile File { get; } = Oracle.Run("head_backward.py");

    public float[] F(string name) => File.ReadFloats(name);

    public double[] D(string name) => File.Entry(name).DType == StDType.F64
        ? MemoryMarshal.Cast<byte, double>(File.ReadBytes(name)).ToArray()
        : ToDouble(File.ReadFloats(name));

    public int[] Shape(string name) => File.Entry(name).Shape;

    public Engine.Tensors.Tensor Put(IBackend be, string name) => HeadOps.Put(be, name, F(name), Shape(name));

    /// <summary>A tensor of the oracle's shape for name, filled with NaN (for outputs that must be overwritten).</summary>
    public Engine.Tensors.Tensor NaNs(IBackend be, string name) =>
        HeadOps.Put(be, name, BackwardChecks.NaNs(Shape(name).Aggregate(1, (a, b) => a * b)), Shape(name));

    /// <summary>A zero tensor of the oracle's shape (for gradients that accumulate).</summary>
    public Engine.Tensors.Tensor Zeros(IBackend be, string name) =>
        HeadOps.Put(be, name, new float[Shape(name).Aggregate(1, (a, b) => a * b)], Shape(name));

    public void Expect(IBackend be, string name, Engine.Tensors.Tensor actual, double atol, double rtol) =>
        TensorAssert.Close($"{be.Name} {name} (head_backward.py --seed {File.Metadata["seed"]})", ToDouble(Get(be, actual)), D(name), atol, rtol);

    public void Dispose() => File.Dispose();
}

/// <summary>
/// The backward ops against PyTorch autograd, on the CPU backend, the emulated kernels and (when present) a GPU.
/// Each starts from the oracle's float32 inputs; the op's own forward supplies what backward needs saved.
/// </summary>
public class OracleBackwardTests(HeadBackwardOracle fx) : IClassFixture<HeadBackwardOracle>
{
    [Theory]
    [InlineData("pf")]
    [InlineData("pfs")]
    public void PlanarFlowDoubleReferenceMatchesAutograd(string c)
    {
        var (z0, u, w, b) = (fx.D($"{c}_z0"), fx.D($"{c}_u"), fx.D($"{c}_w"), fx.D($"{c}_b"));
        var n = new PlanarFlowReference.Dims(fx.Shape($"{c}_z0")[0], fx.Shape($"{c}_u")[1], fx.Shape($"{c}_z0")[1], fx.Shape($"{c}_u")[0] == 1);
        var a = new double[n.Samples * n.Steps];
        PlanarFlowReference.Forward<double>(new double[z0.Length], new double[n.Samples], a, z0, u, w, b, n);
        double[] dz0 = new double[z0.Length], du = new double[u.Length], dw = new double[w.Length], db = new double[b.Length];
        PlanarFlowReference.Backward<double>(dz0, du, dw, db, fx.D($"{c}_dzK"), fx.D($"{c}_dlogdet"), a, z0, u, w, n);
        // Same float64 inputs, same formulas: only the order of float64 sums differs (~1e-15 relative).
        foreach (var (name, g) in new[] { ("dz0", dz0), ("du", du), ("dw", dw), ("db", db) })
            TensorAssert.Close(name, g, fx.D($"{c}_{name}"), atol: 1e-10, rtol: 1e-10);
    }

    [Theory]
    [InlineData("cpu", "pf")]
    [InlineData("cpu", "pfs")]
    [InlineData("emu", "pf")]
    [InlineData("emu", "pfs")]
    [InlineData("gpu", "pfs")]
    public void PlanarFlow(string backend, string c)
    {
        using var be = Backend(backend);
        using var z0 = fx.Put(be, $"{c}_z0");
        using var u = fx.Put(be, $"{c}_u");
        using var w = fx.Put(be, $"{c}_w");
        using var b = fx.Put(be, $"{c}_b");
        using var zK = fx.NaNs(be, $"{c}_zK");
        using var ld = fx.NaNs(be, $"{c}_logdet");
        using var a = fx.NaNs(be, $"{c}_a");
        be.PlanarFlow(zK, ld, a, z0, u, w, b);
        using var dzK = fx.Put(be, $"{c}_dzK");
        using var dld = fx.Put(be, $"{c}_dlogdet");
        using var dz0 = fx.NaNs(be, $"{c}_dz0");
        using var du = fx.Zeros(be, $"{c}_du");
        using var dw = fx.Zeros(be, $"{c}_dw");
        using var db = fx.Zeros(be, $"{c}_db");
        be.PlanarFlowBackward(dz0, du, dw, db, dzK, dld, a, z0, u, w, b);
        // float32 vs float64: the forward's z and a carry ~1e-6 relative rounding through 10 steps, the backward
        // the same again; gradients are O(1..10) and ψ stays near 1 (u ~ 0.5, w ~ 1/sqrt(D)). Measured ≤ 2.5e-7
        // absolute on dz0; 2e-5 + 1e-4·|g| leaves margin for other seeds while a wrong term is off by ≥ 1e-2.
        foreach (var (name, t) in new[] { ("dz0", dz0), ("du", du), ("dw", dw), ("db", db) })
            fx.Expect(be, $"{c}_{name}", t, atol: 2e-5, rtol: 1e-4);
    }

    [Theory]
    [InlineData("cpu", "bs")]
    [InlineData("cpu", "bss")]
    [InlineData("emu", "bs")]
    [InlineData("emu", "bss")]
    [InlineData("gpu", "bss")]
    public void FlowBaseSample(string backend, string c)
    {
        using var be = Backend(backend);
        using var mu = fx.Put(be, $"{c}_mu");
        using var h = fx.Put(be, $"{c}_h");
        using var eps = fx.Put(be, $"{c}_eps");
        using var z0 = fx.NaNs(be, $"{c}_z0");
        using var v = fx.NaNs(be, $"{c}_v");
        be.FlowBaseSample(z0, v, mu, h, eps);
        using var dz0 = fx.Put(be, $"{c}_dz0");
        using var dv = fx.File.Contains($"{c}_dv") ? fx.Put(be, $"{c}_dv") : null;
        using var dmu = fx.NaNs(be, $"{c}_dmu");
        using var dh = fx.NaNs(be, $"{c}_dh");
        be.FlowBaseSampleBackward(dmu, dh, dz0, dv, v, eps);
        // Sums of ≤ 3 O(1) float products plus expf/sqrtf rounding: a few ulps of O(1) values.
        fx.Expect(be, $"{c}_dmu", dmu, atol: 1e-6, rtol: 1e-6);
        fx.Expect(be, $"{c}_dh", dh, atol: 1e-6, rtol: 1e-6);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("emu")]
    [InlineData("gpu")]
    public void PromptBlocks(string backend)
    {
        using var be = Backend(backend);
        using var db = fx.Put(be, "pb_dblocks");
        using var dctx = fx.Zeros(be, "pb_dctx");
        using var dsn = fx.Zeros(be, "pb_dstateNormal");
        using var dsa = fx.Zeros(be, "pb_dstateAbnormal");
        using var dzc = fx.NaNs(be, "pb_dzc");
        using var dzn = fx.NaNs(be, "pb_dzn");
        using var dza = fx.NaNs(be, "pb_dza");
        be.PromptBlocksBackward(dctx, dsn, dsa, dzc, dzn, dza, db);
        // Sums of ≤ 30 O(1) float values: rounding ≲ 30 · 6e-8 · O(1) relative to the float64 sums.
        foreach (var (name, t) in new[] { ("dctx", dctx), ("dstateNormal", dsn), ("dstateAbnormal", dsa), ("dzc", dzc), ("dzn", dzn), ("dza", dza) })
            fx.Expect(be, $"pb_{name}", t, atol: 1e-5, rtol: 1e-5);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("emu")]
    [InlineData("gpu")]
    public void SimilarityMap(string backend)
    {
        using var be = Backend(backend);
        var scale = fx.F("sm_scale")[0];
        using var s = fx.Put(be, "sm_s");
        using var dmap = fx.Put(be, "sm_dmap");
        using var map = fx.NaNs(be, "sm_map");
        be.SimilarityMap(map, s, scale);
        // The forward is checked here too so that a disagreement in the shared tap arithmetic shows up by name.
        fx.Expect(be, "sm_map", map, atol: 1e-6, rtol: 0);
        using var ds = fx.NaNs(be, "sm_ds");
        be.SimilarityMapBackward(ds, dmap, s, scale);
        // Each cell sums ≲ 30 float products of size ≤ scale/4/(L·M) ≈ 0.6: rounding ≲ 1e-6 absolute.
        fx.Expect(be, "sm_ds", ds, atol: 1e-5, rtol: 1e-5);
    }
}
