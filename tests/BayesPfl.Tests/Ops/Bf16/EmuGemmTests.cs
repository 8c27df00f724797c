using BayesPfl.Host;
using BayesPfl.Tests.Emu;
using Xunit;
using HostBf16 = BayesPfl.Engine.Tensors.Bf16;

namespace BayesPfl.Tests.Ops.Bf16;

/// <summary>
/// The emulator's bf16 GEMM (cublasGemmStridedBatchedEx with bf16 A and B): the sgemm loop over exactly widened
/// operands, so it must equal the emulator's sgemm (tested against the column-major definition in EmuSgemmTests) of
/// the widened values bit for bit, for every transpose, beta, padding and batch stride; its operand checks count
/// 2-byte elements.
/// </summary>
public sealed class EmuGemmTests
{
    [Theory]
    [InlineData(GemmOp.N, GemmOp.N, 0f)]
    [InlineData(GemmOp.N, GemmOp.T, 0f)]
    [InlineData(GemmOp.T, GemmOp.N, 1f)]
    [InlineData(GemmOp.T, GemmOp.T, 1f)]
    public void EqualsSgemmOfTheWidenedOperands(GemmOp ta, GemmOp tb, float beta)
    {
        const int M = 5, N = 7, K = 9, Batch = 3;
        const float Alpha = 0.75f;
        int lda = (ta == GemmOp.N ? M : K) + 3, ldb = (tb == GemmOp.N ? K : N) + 2, ldc = M + 1;
        long sa = (long)lda * (ta == GemmOp.N ? K : M) + 5, sb = (long)ldb * (tb == GemmOp.N ? N : K) + 1, sc = (long)ldc * N + 4;
        var rng = new Random(3);
        ushort[] Bits(long n) => [.. Enumerable.Range(0, (int)n).Select(_ => HostBf16.FromFloat((float)(rng.NextDouble() * 2 - 1)))];
        float[] Wide(ushort[] v) => [.. v.Select(HostBf16.ToFloat)];
        ushort[] a = Bits(sa * Batch), b = Bits(sb * Batch);
        var c0 = Wide(Bits(sc * Batch));

        using var t = new EmuTestGpu();
        // beta 0: C starts as NaN bytes and must not be read; the padding between windows must stay untouched.
        DevicePtr C() => beta == 0 ? t.Alloc<float>((int)(sc * Batch)) : t.Upload(c0);
        DevicePtr c16 = C(), c32 = C();
        t.Gpu.GemmBf16StridedBatched(ta, tb, M, N, K, Alpha, t.Upload(a), lda, sa, t.Upload(b), ldb, sb, beta, c16, ldc, sc, Batch);
        t.Gpu.SgemmStridedBatched(ta, tb, M, N, K, Alpha, t.Upload(Wide(a)), lda, sa, t.Upload(Wide(b)), ldb, sb, beta, c32, ldc, sc, Batch);
        Bf16Kit.AssertBits($"bf16 GEMM {ta}{tb} beta {beta}", t.Download<float>(c16, (int)(sc * Batch)), t.Download<float>(c32, (int)(sc * Batch)));
    }

    [Fact]
    public void OperandRangesCountTwoByteElements()
    {
        using var t = new EmuTestGpu();
        // A is 3x2 (ld 3) over 2 batches 6 apart: 12 bf16 = 24 bytes, all allocated (as floats it would need 48 and fail);
        // B 2x2 (ld 2) 4 apart: 8. One more element of stride runs A past its end.
        var a = t.Alloc<ushort>(12);
        var b = t.Alloc<ushort>(8);
        var c = t.Alloc<float>(12);
        t.Gpu.GemmBf16StridedBatched(GemmOp.N, GemmOp.N, 3, 2, 2, 1f, a, 3, 6, b, 2, 4, 0f, c, 3, 6, 2);
        var shortA = Assert.Throws<ArgumentException>(() =>
            t.Gpu.GemmBf16StridedBatched(GemmOp.N, GemmOp.N, 3, 2, 2, 1f, a, 3, 7, b, 2, 4, 0f, c, 3, 6, 2));
        Assert.Contains("GemmBf16StridedBatched operand A", shortA.Message);
        var badLd = Assert.Throws<ArgumentException>(() =>
            t.Gpu.GemmBf16StridedBatched(GemmOp.N, GemmOp.N, 3, 2, 2, 1f, a, 2, 6, b, 2, 4, 0f, c, 3, 6, 2));
        Assert.Contains("gemm_bf16", badLd.Message);
        Assert.Contains("lda", badLd.Message);
    }
}
