using BayesPfl.Host;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Emu;

/// <summary>The emulator's SgemmStridedBatched against a naive column-major reference with cuBLAS semantics.</summary>
public class EmuSgemmTests
{
    [Theory]
    [InlineData(GemmOp.N, GemmOp.N, 0f)]
    [InlineData(GemmOp.N, GemmOp.T, 0f)]
    [InlineData(GemmOp.T, GemmOp.N, 0f)]
    [InlineData(GemmOp.T, GemmOp.T, 0f)]
    [InlineData(GemmOp.N, GemmOp.N, 1f)]
    [InlineData(GemmOp.N, GemmOp.T, 1f)]
    [InlineData(GemmOp.T, GemmOp.N, 1f)]
    [InlineData(GemmOp.T, GemmOp.T, 1f)]
    public void MatchesTheColumnMajorDefinition(GemmOp ta, GemmOp tb, float beta)
    {
        const int M = 5, N = 7, K = 9, Batch = 3;
        const float Alpha = 0.75f;
        var (rowsA, colsA) = ta == GemmOp.N ? (M, K) : (K, M);
        var (rowsB, colsB) = tb == GemmOp.N ? (K, N) : (N, K);
        int lda = rowsA + 3, ldb = rowsB + 2, ldc = M + 1;
        long sa = (long)lda * colsA + 5, sb = (long)ldb * colsB + 1, sc = (long)ldc * N + 4;
        var rng = new Random(11);
        float[] Fill(long n) => Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var a = Fill(sa * Batch);
        var b = Fill(sb * Batch);
        var c0 = Fill(sc * Batch);

        using var t = new EmuTestGpu();
        var dc = beta == 0 ? t.Alloc<float>((int)(sc * Batch)) : t.Upload(c0);  // beta 0: C holds NaN and must not be read
        t.Gpu.SgemmStridedBatched(ta, tb, M, N, K, Alpha, t.Upload(a), lda, sa, t.Upload(b), ldb, sb, beta, dc, ldc, sc, Batch);
        var got = t.Download<float>(dc, (int)(sc * Batch));

        var expected = beta == 0 ? Enumerable.Repeat(float.NaN, got.Length).ToArray() : (float[])c0.Clone();
        for (var p = 0; p < Batch; p++)
            for (var j = 0; j < N; j++)
                for (var i = 0; i < M; i++)
                {
                    double s = 0;
                    for (var l = 0; l < K; l++)
                    {
                        var av = ta == GemmOp.N ? a[p * sa + i + l * lda] : a[p * sa + l + i * lda];
                        var bv = tb == GemmOp.N ? b[p * sb + l + j * ldb] : b[p * sb + j + l * ldb];
                        s += (double)av * bv;
                    }
                    var at = p * sc + i + j * ldc;
                    expected[at] = (float)(Alpha * s + beta * c0[at]);
                }
        // Elements outside the m x n windows (padding rows, gaps between batches) must be untouched.
        for (var x = 0; x < got.Length; x++)
            if (float.IsNaN(expected[x])) Assert.True(float.IsNaN(got[x]), $"C[{x}] is outside every output window but was written");
        // Both sides accumulate in double and round once: only the final float rounding differs.
        TensorAssert.Close("C", got.Where(v => !float.IsNaN(v)).ToArray(), expected.Where(v => !float.IsNaN(v)).ToArray(), 1e-6, 1e-6);
    }

    [Fact]
    public void AlphaZeroReadsNeitherANorB()
    {
        using var t = new EmuTestGpu();
        var nanA = t.Alloc<float>(4);
        var nanB = t.Alloc<float>(4);
        var c = t.Upload(1f, 2f, 3f, 4f);
        t.Gpu.SgemmStridedBatched(GemmOp.N, GemmOp.N, 2, 2, 2, 0f, nanA, 2, 0, nanB, 2, 0, 0.5f, c, 2, 0, 1);
        Assert.Equal([0.5f, 1f, 1.5f, 2f], t.Download<float>(c, 4));
    }

    [Fact]
    public void BadLeadingDimensionsAndShortOperandsAreRejected()
    {
        using var t = new EmuTestGpu();
        var a = t.Alloc<float>(18);
        var b = t.Alloc<float>(12);
        var c = t.Alloc<float>(12);
        var ld = Assert.Throws<ArgumentException>(() => t.Gpu.SgemmStridedBatched(GemmOp.N, GemmOp.N, 3, 2, 2, 1f, a, 2, 0, b, 2, 0, 0f, c, 3, 0, 1));
        Assert.Contains("lda", ld.Message);
        // C is 3x2 with stride 6 over 3 batches: 18 floats, but only 12 were allocated.
        var shortC = Assert.Throws<ArgumentException>(() => t.Gpu.SgemmStridedBatched(GemmOp.N, GemmOp.N, 3, 2, 2, 1f, a, 3, 6, b, 2, 4, 0f, c, 3, 6, 3));
        Assert.Contains("operand C", shortC.Message);
    }
}
