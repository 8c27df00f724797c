using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;
using BayesPfl.Tests.Infra;
using Xunit;
using static BayesPfl.Tests.Ops.Attention.DeviceKit;
using static BayesPfl.Tests.Ops.Bf16.Bf16Kit;

namespace BayesPfl.Tests.Ops.Bf16;

/// <summary>
/// Linear with BF16 weights: the CUDA launcher (emulated cuBLAS bf16 GEMM and the cast kernel) against the CPU
/// reference at hostile shapes, the bf16 result against fp32 within the rounding bound, and on the GPU machine at
/// the ViT's shapes.
/// </summary>
public sealed class LinearTests
{
    private const double U32 = 1.0 / (1 << 24);  // fp32 unit roundoff
    private const double U16 = 1.0 / (1 << 8);   // bf16 unit roundoff (8 significant bits)

    public static TheoryData<int, int, int, bool> HostileShapes()
    {
        var data = new TheoryData<int, int, int, bool>();
        foreach (var m in new[] { 1, 7, 33 })
            foreach (var n in new[] { 1, 33 })
                foreach (var xBf16 in new[] { false, true })
                    data.Add(m, 67, n, xBf16);
        return data;
    }

    /// <summary>
    /// Both sides multiply the same bf16 values (exact products: 8 + 8 significant bits fit an fp32), so they differ
    /// only in accumulation: the CPU sums K + 1 terms in fp32 (error at most (K+1)·u32·Σ|x||w| + |b| terms), the
    /// emulator in double. (K + 2)·u32·max(Σ|x||w| + |b|) bounds it; a missing rounding of x would be ~2^-9·Σ|x||w|, 10^4 times more.
    /// </summary>
    [Theory]
    [MemberData(nameof(HostileShapes))]
    public void EmulatedMatchesCpu(int m, int k, int n, bool xBf16)
    {
        var (x, w, b) = Data(m, k, n, seed: m * 100 + n);
        var xType = xBf16 ? DType.BF16 : DType.F32;
        using var cpu = TestBackends.Cpu();
        using var emu = TestBackends.Emulated();
        foreach (var bias in new[] { b, null })
        {
            var want = Run(cpu, x, xType, w, DType.BF16, bias, m, k, n);
            var got = Run(emu, x, xType, w, DType.BF16, bias, m, k, n);
            var what = $"Linear bf16 [{m},{k}]x[{n},{k}] x {xType}{(bias is null ? "" : " + bias")}";
            TensorAssert.AllFinite(what, got);
            TensorAssert.Close(what, got, want, (k + 2) * U32 * MaxAbsSum(Rounded(x), Rounded(w), bias, m, k, n), 0);
            AssertBits(what + " rerun", Run(emu, x, xType, w, DType.BF16, bias, m, k, n), got);
        }
    }

    public static TheoryData<string> Backends => ["cpu", "emulated"];

    /// <summary>
    /// bf16 vs fp32: with x̂ = x(1+δ₁), ŵ = w(1+δ₂), |δ| ≤ 2^-8, each product moves by at most (2·2^-8 + 2^-16)|xw|, and
    /// both sums add at most (K+2)·u32·Σ|x||w| of their own, so |y₁₆ − y₃₂| ≤ (2·2^-8 + 2^-16 + 2(K+2)·u32)·Σ|x||w|.
    /// Equality would mean nothing was rounded; with bf16-exact inputs the two paths are the same GEMM, bit for bit.
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public void Bf16IsFp32WithinTheRoundingBound(string backend)
    {
        const int m = 33, k = 67, n = 33;
        var (x, w, b) = Data(m, k, n, seed: 5);
        using var be = CastTests.Make(backend);
        var y16 = Run(be, x, DType.F32, w, DType.BF16, b, m, k, n);
        var y32 = Run(be, x, DType.F32, w, DType.F32, b, m, k, n);
        var bound = (2 * U16 + U16 * U16 + 2 * (k + 2) * U32) * MaxAbsSum(x, w, b, m, k, n);
        TensorAssert.Close($"{backend} bf16 vs fp32 Linear", y16, y32, bound, 0);
        Assert.False(y16.SequenceEqual(y32), $"{backend}: the bf16 Linear equals the fp32 one bit for bit; nothing was rounded");

        float[] xe = Rounded(x), we = Rounded(w);
        AssertBits($"{backend} bf16-exact inputs", Run(be, xe, DType.F32, we, DType.BF16, b, m, k, n), Run(be, xe, DType.F32, we, DType.F32, b, m, k, n));
    }

    /// <summary>
    /// The ViT-L/14 MLP shapes on the GPU machine (cuBLAS on tensor cores) against the CPU reference. Same bf16 inputs,
    /// fp32 accumulation in different orders (tensor cores may truncate partial sums): the fp32 GEMM tolerance of
    /// Ops/Basic (6e-8·K^1.5, uniform data) times 4, while a wrong rounding of x shows up at ~2^-9·sqrt(K) ≈ 0.1.
    /// </summary>
    [Fact]
    public void LinearOnRealGpuMatchesCpuAtVitShapes()
    {
        using var gpu = Basic.RealGpu.BackendOrSkip();
        using var cpu = TestBackends.Cpu();
        foreach (var (k, n, xType) in new[] { (1024, 4096, DType.F32), (4096, 1024, DType.BF16) })
        {
            const int m = 1370;
            var (x, w, b) = Data(m, k, n, seed: k);
            var got = Run(gpu, x, xType, w, DType.BF16, b, m, k, n);
            var what = $"GPU Linear bf16 [{m},{k}]x[{n},{k}] x {xType}";
            TensorAssert.AllFinite(what, got);
            TensorAssert.Close(what, got, Run(cpu, x, xType, w, DType.BF16, b, m, k, n), 4 * 6e-8 * Math.Pow(k, 1.5), 0, maxNmse: 1e-9);
            AssertBits(what + " rerun", Run(gpu, x, xType, w, DType.BF16, b, m, k, n), got);
        }
    }

    /// <summary>Uniform [-1, 1) x[M,K], w[N,K], bias[N].</summary>
    private static (float[] X, float[] W, float[] B) Data(int m, int k, int n, int seed) =>
        (FiniteDiff.RandomFloats(m * k, seed), FiniteDiff.RandomFloats(n * k, seed + 1), FiniteDiff.RandomFloats(n, seed + 2));

    /// <summary>y = Linear(x, w, bias) on be, x and w uploaded as the given types, y starting as NaN.</summary>
    internal static float[] Run(IBackend be, float[] x, DType xType, float[] w, DType wType, float[]? bias, int m, int k, int n)
    {
        using var tx = Put(be, "x", x, xType, m, k);
        using var tw = Put(be, "w", w, wType, n, k);
        using var tb = bias is null ? null : Put(be, "bias", bias, DType.F32, n);
        using var ty = Put(be, "y", Enumerable.Repeat(float.NaN, m * n).ToArray(), DType.F32, m, n);
        be.Linear(ty, tx, tw, tb);
        AfterLaunch(be);
        return Get(ty);
    }

    /// <summary>max over outputs of Σ_k |x[i,k]||w[j,k]| + |bias[j]|: the scale every accumulation error is relative to.</summary>
    private static double MaxAbsSum(float[] x, float[] w, float[]? bias, int m, int k, int n)
    {
        double max = 0;
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                double s = bias is null ? 0 : Math.Abs(bias[j]);
                for (var l = 0; l < k; l++) s += Math.Abs((double)x[i * k + l] * w[j * k + l]);
                max = Math.Max(max, s);
            }
        return max;
    }
}
