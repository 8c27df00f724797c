using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Ops.Attention.DeviceKit;

namespace BayesPfl.Tests.Ops.Attention;

/// <summary>
/// The CUDA attention kernels (forward, dq, dk/dv) against the CPU reference: on the emulator at small hostile
/// shapes, on a real GPU at the model's shapes.
/// </summary>
public class AttentionDeviceTests
{
    // A fresh seed per run (named in every failure message, to replay it) so that coverage grows over runs.
    private static readonly int Seed = System.Random.Shared.Next();

    public static TheoryData<int, int, int, int, int, bool> EmulatedCases => new()
    {
        { 1, 1, 1, 1, 64, true },      // one token
        { 2, 7, 7, 3, 64, true },      // causal, several prompts, partial tile
        { 1, 33, 33, 2, 64, false },   // three query blocks, two key tiles
        { 1, 7, 197, 4, 192, false },  // RCA-like: D = 192 (tile 16 / 8), many key tiles
        { 1, 197, 1, 2, 192, false },  // a single key
        { 1, 257, 257, 1, 64, true },  // causal over many tiles: early exit per block
        { 2, 33, 57, 2, 40, false },   // D not a multiple of 32
        { 1, 20, 20, 1, 256, true },   // largest D: the backward drops to two warps
    };

    [Theory]
    [MemberData(nameof(EmulatedCases))]
    public void EmulatedMatchesReference(int batch, int nq, int nk, int heads, int dim, bool causal)
    {
        using var gpu = TestBackends.Emulated();
        Compare(gpu, batch, nq, nk, heads, dim, causal, causal ? 0.125f : 0.3f, Seed,
            // Same float32 inputs, different summation order (online softmax rescaled per key tile, FMA
            // contraction). Observed max abs: o and lse ~1e-6 (O(1) averages; lse ~ log Nk + max score), so 1e-5.
            // Gradients sum up to 257 O(1) terms: observed <= 5e-6, and 2e-5 where dq, dk are pure rounding noise
            // around 0 (Nk = 1: P = 1 and dS = dO·v − dO·o = 0), so 1e-4.
            oTol: 1e-5, gradTol: 1e-4);
    }

    public static TheoryData<string, int, int, int, int, int, bool, float> ModelCases => new()
    {
        { "vision", 1, 1370, 1370, 16, 64, false, 0.125f },
        { "text", 60, 77, 77, 12, 64, true, 0.125f },
        { "rca", 2, 60, 1369, 4, 192, false, 1f / MathF.Sqrt(768f) },
    };

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void GpuMatchesReferenceAtModelShapes(string name, int batch, int nq, int nk, int heads, int dim, bool causal, float scale)
    {
        using var gpu = RealGpu();
        Assert.NotEmpty(name);
        // As on the emulator, but sums now run over up to 1370 keys: rounding grows ~sqrt(1370/257) ≈ 2.3x.
        Compare(gpu, batch, nq, nk, heads, dim, causal, scale, Seed, oTol: 3e-5, gradTol: 3e-4);
    }

    private static void Compare(CudaBackend gpu, int batch, int nq, int nk, int heads, int dim, bool causal, float scale, int seed,
        double oTol, double gradTol)
    {
        using var cpu = TestBackends.Cpu();
        int w = heads * dim;
        var data = new Dictionary<string, float[]>
        {
            ["q"] = Random((long)batch * nq * w, seed, 2f),
            ["k"] = Random((long)batch * nk * w, seed + 1, 2f),
            ["v"] = Random((long)batch * nk * w, seed + 2),
            ["dout"] = Random((long)batch * nq * w, seed + 3),
        };
        var expected = Run(cpu, data, batch, nq, nk, heads, dim, causal, scale);
        var actual = Run(gpu, data, batch, nq, nk, heads, dim, causal, scale);
        foreach (var (key, value) in actual) TensorAssert.AllFinite($"{key} (seed {seed})", value);
        TensorAssert.Close($"o (seed {seed})", actual["o"], expected["o"], oTol, oTol);
        TensorAssert.Close($"lse (seed {seed})", actual["lse"], expected["lse"], oTol, oTol);
        foreach (var g in new[] { "dq", "dk", "dv" }) TensorAssert.Close($"{g} (seed {seed})", actual[g], expected[g], gradTol, gradTol);
        var again = Run(gpu, data, batch, nq, nk, heads, dim, causal, scale);
        foreach (var (key, value) in actual) TensorAssert.BitwiseEqual($"{key} (seed {seed})", again[key], value);
    }

    /// <summary>Forward then backward (on the forward's own o and lse); outputs start as NaN to prove they are overwritten.</summary>
    private static Dictionary<string, float[]> Run(IBackend be, Dictionary<string, float[]> data, int batch, int nq, int nk, int heads,
        int dim, bool causal, float scale)
    {
        int w = heads * dim;
        using Tensor q = Put(be, "q", data["q"], batch, nq, w), k = Put(be, "k", data["k"], batch, nk, w), v = Put(be, "v", data["v"], batch, nk, w),
            dout = Put(be, "dout", data["dout"], batch, nq, w), o = Poisoned(be, "o", batch, nq, w), lse = Poisoned(be, "lse", batch, heads, nq),
            dq = Poisoned(be, "dq", batch, nq, w), dk = Poisoned(be, "dk", batch, nk, w), dv = Poisoned(be, "dv", batch, nk, w);
        be.Attention(o, lse, q, k, v, heads, causal, scale);
        AfterLaunch(be);
        be.AttentionBackward(dq, dk, dv, dout, q, k, v, o, lse, heads, causal, scale);
        AfterLaunch(be);
        return new() { ["o"] = Get(o), ["lse"] = Get(lse), ["dq"] = Get(dq), ["dk"] = Get(dk), ["dv"] = Get(dv) };
    }
}
