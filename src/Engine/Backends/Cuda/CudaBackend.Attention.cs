using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

public sealed partial class CudaBackend
{
    /// <summary>Rows (queries or keys) each warp owns in src/Kernels/attention.cu (ATT_ROWS).</summary>
    private const int AttentionRowsPerWarp = 4;

    /// <summary>Largest head dim the kernels' register accumulators hold (32 · ATT_MAX_CHUNKS).</summary>
    public const int AttentionMaxHeadDim = 256;

    /// <summary>Dynamic shared memory the kernels may use without the opt-in function attribute.</summary>
    private const int AttentionSmemBytes = 48 * 1024;

    public void Attention(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, int heads, bool causal, float scale)
    {
        var n = AttentionReference.CheckForward("Attention", o, lse, q, k, v, heads, causal, scale);
        if (q.DType == DType.BF16)
        {
            // cuBLAS takes any head dim: no CheckHeadDim.
            if (n.Batch > 0 && n.Nq > 0) AttentionBf16(o, lse, q, k, v, n, causal, scale);
            return;
        }
        CheckHeadDim("Attention", q, n);
        if (n.Batch == 0 || n.Nq == 0) return;
        int d = n.HeadDim;
        // qs [bq, D], ks [tile, D+1], vs [tile, D], per-warp P [rows, tile]
        var (warps, tile, smem) = AttentionShape((bq, t) => bq * d + t * (d + 1) + t * d + bq * t);
        Gpu.Launch("attention_forward", AttentionGrid(n.Nq, warps, n), warps * 32, smem,
            Args().Ptr(Dev(o)).Ptr(Dev(lse)).Ptr(Dev(q)).Ptr(Dev(k)).Ptr(Dev(v)).Int(n.Batch).Int(n.Nq).Int(n.Nk).Int(n.Heads).Int(d)
                .Int(tile).Int(causal ? 1 : 0).Float(scale));
    }

    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse,
        int heads, bool causal, float scale)
    {
        var n = AttentionReference.CheckBackward("AttentionBackward", dq, dk, dv, dout, q, k, v, o, lse, heads, causal, scale);
        CheckHeadDim("AttentionBackward", q, n);
        if (n.Batch == 0) return;
        int d = n.HeadDim;
        if (n.Nq == 0)
        {
            // No query sees any key: the key gradients are zero (and there is no dq to write).
            Zero(dk);
            Zero(dv);
            return;
        }
        // qs, dos [bq, D], ks, vs [tile, D+1], per-warp dS [rows, tile]
        var (warps, tile, smem) = AttentionShape((bq, t) => 2 * bq * d + 2 * t * (d + 1) + bq * t);
        Gpu.Launch("attention_backward_dq", AttentionGrid(n.Nq, warps, n), warps * 32, smem,
            AttentionBackwardArgs(Args().Ptr(Dev(dq)), dout, q, k, v, o, lse, n, tile, causal, scale));
        // ks, vs [bk, D], qs, dos [tile, D+1], lse and Δ [tile], per-warp P and dS [rows, tile]
        (warps, tile, smem) = AttentionShape((bk, t) => 2 * bk * d + 2 * t * (d + 1) + 2 * t + 2 * bk * t);
        Gpu.Launch("attention_backward_dkdv", AttentionGrid(n.Nk, warps, n), warps * 32, smem,
            AttentionBackwardArgs(Args().Ptr(Dev(dk)).Ptr(Dev(dv)), dout, q, k, v, o, lse, n, tile, causal, scale));
    }

    private static void CheckHeadDim(string op, Tensor q, AttentionReference.Dims n) =>
        Check.That(n.HeadDim is >= 1 and <= AttentionMaxHeadDim, op,
            $"{q.Name} has shape {q.Shape}: head dim {n.HeadDim} is outside the CUDA kernels' range 1..{AttentionMaxHeadDim}");

    private KernelArgs AttentionBackwardArgs(KernelArgs a, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse,
        AttentionReference.Dims n, int tile, bool causal, float scale) =>
        a.Ptr(Dev(dout)).Ptr(Dev(q)).Ptr(Dev(k)).Ptr(Dev(v)).Ptr(Dev(o)).Ptr(Dev(lse)).Int(n.Batch).Int(n.Nq).Int(n.Nk).Int(n.Heads)
            .Int(n.HeadDim).Int(tile).Int(causal ? 1 : 0).Float(scale);

    /// <summary>One block per (group of owned rows, head, batch).</summary>
    private static Dim3 AttentionGrid(int ownedRows, int warps, AttentionReference.Dims n) =>
        new((uint)Blocks(ownedRows, warps * AttentionRowsPerWarp), (uint)n.Heads, (uint)n.Batch);

    /// <summary>
    /// Warps per block and streamed-tile rows for a kernel whose shared memory (in floats) is
    /// smemFloats(owned rows per block, tile). Prefers full 32-row tiles (one streamed row per lane) and 4 warps;
    /// halves the tile, then the warps, until it fits in 48 KiB (D = 192 needs tile 16, D = 256 two warps).
    /// </summary>
    private static (int Warps, int Tile, int SmemBytes) AttentionShape(Func<int, int, int> smemFloats)
    {
        int warps = 4, tile = 32;
        while (smemFloats(warps * AttentionRowsPerWarp, tile) * sizeof(float) > AttentionSmemBytes)
        {
            if (tile > 8) tile /= 2;
            else if (warps > 1) warps /= 2;
            else throw new InvalidOperationException("attention: no launch shape fits in 48 KiB of shared memory");
        }
        return (warps, tile, smemFloats(warps * AttentionRowsPerWarp, tile) * sizeof(float));
    }
}
