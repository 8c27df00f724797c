using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// The CPU's fast fp32 GEMM, row-major: C[M,N] (=|+=) op(A)[M,K] · op(B)[K,N], where op(A)[i,p] is
/// A[i*lda+p] or, transposed, A[p*lda+i] (same for B). GEMM dominates CPU time (a ViT-L/14 forward at
/// 518 px is ~0.5 TMAC), so this one routine is blocked, vectorised and threaded, in the BLIS layout:
/// B is packed once into KC×NR column panels, each task packs an MC×KC block of A into MR-row panels
/// (both zero-padded, so the micro-kernel never branches), and a 6×16 register tile accumulates with FMAs.
/// Checked against the plain loops of <see cref="GemmReference"/>. Deterministic: every C element is summed
/// in the same order whatever the thread count.
/// </summary>
internal static unsafe class Sgemm
{
    private const int MR = 6, NR = 16;
    // KC×NR B panel (16 KiB) + MR×KC A panel stay in L1; the MC×KC A block (96 KiB) in L2.
    private const int KC = 256, MC = 96;
    // Columns per task: enough tasks to balance two or more cores, enough work per task to amortise packing A.
    private const int NT = 512;

    public static void Run(bool transA, bool transB, int m, int n, int k,
        float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate)
                for (var i = 0; i < m; i++) c.AsSpan(cOff + i * ldc, n).Clear();
            return;
        }
        var nPad = (n + NR - 1) / NR * NR;
        var packedB = ArrayPool<float>.Shared.Rent(checked(k * nPad));
        // Below ~1 MFLOP (the flow and head GEMMs of one sample) waking other threads costs more than it saves.
        var threads = new ParallelOptions { MaxDegreeOfParallelism = 2.0 * m * n * k < 1e6 ? 1 : -1 };
        try
        {
            var panels = nPad / NR;
            Parallel.For(0, panels, threads, j => PackB(transB, b, bOff, ldb, k, n, j, nPad, packedB));
            var mBlocks = (m + MC - 1) / MC;
            var nBlocks = (n + NT - 1) / NT;
            Parallel.For(0, mBlocks * nBlocks, threads, () => ArrayPool<float>.Shared.Rent(MC * KC), (task, _, packedA) =>
            {
                var i0 = task / nBlocks * MC;
                var j0 = task % nBlocks * NT;
                Block(transA, a, aOff, lda, packedB, nPad, c, cOff, ldc, i0, Math.Min(MC, m - i0), j0, Math.Min(NT, n - j0), k, accumulate, packedA);
                return packedA;
            }, packedA => ArrayPool<float>.Shared.Return(packedA));
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedB);
        }
    }

    /// <summary>Packs columns [j*NR, j*NR+NR) of op(B) for every KC block: block p0 starts at p0*nPad, panel j at +j*NR*kc.</summary>
    private static void PackB(bool transB, float[] b, int bOff, int ldb, int k, int n, int j, int nPad, float[] packed)
    {
        var c0 = j * NR;
        var cols = Math.Min(NR, n - c0);
        for (var p0 = 0; p0 < k; p0 += KC)
        {
            var kc = Math.Min(KC, k - p0);
            var dst = packed.AsSpan(p0 * nPad + c0 * kc, kc * NR);
            for (var p = 0; p < kc; p++)
            {
                var row = dst.Slice(p * NR, NR);
                for (var c = 0; c < cols; c++)
                    row[c] = transB ? b[bOff + (c0 + c) * ldb + p0 + p] : b[bOff + (p0 + p) * ldb + c0 + c];
                row[cols..].Clear();
            }
        }
    }

    /// <summary>Rows [i0, i0+mc) × columns [j0, j0+nc) of C, all of K, on one thread.</summary>
    private static void Block(bool transA, float[] a, int aOff, int lda, float[] packedB, int nPad, float[] c, int cOff, int ldc,
        int i0, int mc, int j0, int nc, int k, bool accumulate, float[] packedA)
    {
        var tile = stackalloc float[MR * NR];
        fixed (float* pa = packedA, pb = packedB, pc = c)
        {
            for (var p0 = 0; p0 < k; p0 += KC)
            {
                var kc = Math.Min(KC, k - p0);
                PackA(transA, a, aOff, lda, i0, mc, p0, kc, packedA);
                var add = accumulate || p0 > 0;
                for (var jr = 0; jr < nc; jr += NR)
                {
                    var bPanel = pb + p0 * nPad + (j0 + jr) * kc;
                    var cols = Math.Min(NR, nc - jr);
                    for (var ir = 0; ir < mc; ir += MR)
                    {
                        var rows = Math.Min(MR, mc - ir);
                        var cTile = pc + cOff + (long)(i0 + ir) * ldc + j0 + jr;
                        if (rows == MR && cols == NR)
                        {
                            Kernel(kc, pa + ir * kc, bPanel, cTile, ldc, add);
                            continue;
                        }
                        // Edge tile: compute the full 6×16 into scratch, then merge only the valid part.
                        Kernel(kc, pa + ir * kc, bPanel, tile, NR, false);
                        for (var r = 0; r < rows; r++)
                            for (var q = 0; q < cols; q++)
                                cTile[(long)r * ldc + q] = add ? cTile[(long)r * ldc + q] + tile[r * NR + q] : tile[r * NR + q];
                    }
                }
            }
        }
    }

    /// <summary>Packs op(A)[i0.., p0..] as MR-row panels, k-major inside a panel: panel r at r*kc, element (p, row) at p*MR+row.</summary>
    private static void PackA(bool transA, float[] a, int aOff, int lda, int i0, int mc, int p0, int kc, float[] packed)
    {
        for (var ir = 0; ir < mc; ir += MR)
        {
            var rows = Math.Min(MR, mc - ir);
            var dst = packed.AsSpan(ir * kc, kc * MR);
            if (rows < MR) dst.Clear();
            // Read along the contiguous dimension of the source: rows of op(A) are columns of A when transposed.
            if (transA)
                for (var p = 0; p < kc; p++)
                    a.AsSpan(aOff + (p0 + p) * lda + i0 + ir, rows).CopyTo(dst.Slice(p * MR, rows));
            else
                for (var r = 0; r < rows; r++)
                {
                    var src = a.AsSpan(aOff + (i0 + ir + r) * lda + p0, kc);
                    for (var p = 0; p < kc; p++) dst[p * MR + r] = src[p];
                }
        }
    }

    /// <summary>
    /// C[6,16] (=|+=) A-panel[kc,6]ᵀ · B-panel[kc,16]: twelve 8-wide accumulators, one FMA per (row, half).
    /// 256-bit rather than 512-bit vectors: a 6×32 Vector512 tile measured the same on the Zen 4 CI machine
    /// (it splits 512-bit FMAs in two), and 256 bits run on every AVX2 machine.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel(int kc, float* a, float* b, float* c, long ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(x, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(x, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            a += MR;
            b += NR;
        }
        Store(c, c00, c01, add);
        Store(c + ldc, c10, c11, add);
        Store(c + 2 * ldc, c20, c21, add);
        Store(c + 3 * ldc, c30, c31, add);
        Store(c + 4 * ldc, c40, c41, add);
        Store(c + 5 * ldc, c50, c51, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> lo, Vector256<float> hi, bool add)
    {
        if (add)
        {
            lo += Vector256.Load(c);
            hi += Vector256.Load(c + 8);
        }
        lo.Store(c);
        hi.Store(c + 8);
    }
}
