using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

// Attention in the bf16 mode: two tensor-core GEMMs around the softmax kernel of src/Kernels/attention_bf16.cu.
//
// Column-major mapping (see CudaBackend.Linear.cs). q, k, v, o are row-major [B, N, H*D] with head h in columns
// h*D .. h*D+D-1, so one head of one image is, byte for byte, the column-major matrix [D, N] with leading
// dimension H*D, and the next head starts D elements further: a strided batch over heads reads them in place.
//   scores: S_h[Nq, Nk] row-major = column-major Sᵀ[Nk, Nq] (ld Nk) = K_h · Q_hᵀ
//           = op(A)·op(B) with A = k as [D, Nk] (ld H*D) transposed, B = q as [D, Nq] (ld H*D) as is;
//           (m, n, k) = (Nk, Nq, D), head strides D, D and Nq·Nk.
//   values: O_h[Nq, D] row-major = column-major Oᵀ[D, Nq] (ld H*D) = V_hᵀ · P_hᵀ
//           = op(A)·op(B) with A = v as [D, Nk] (ld H*D) as is, B = P as column-major Pᵀ[Nk, Nq] (ld Nk) as is;
//           (m, n, k) = (D, Nq, Nk), head strides D, Nq·Nk and D (the heads' o columns interleave, never overlap).
// A strided batch cannot step from the last head of image b to the first of b+1 (stride N·H*D, not D), so the
// GEMMs run once per image inside a chunk.
public sealed partial class CudaBackend
{
    /// <summary>
    /// Default bound on the bf16 attention scratch: scores S (fp32) and probabilities P (bf16), 6 bytes per score.
    /// ViT-L/14 at 518 px has Nq = Nk = 1370 and 16 heads: 16·1370²·6 B ≈ 180 MB per image, so one image's heads
    /// fit in one chunk and a batch runs in chunks of whole images instead of growing the scratch with B.
    /// </summary>
    public const long DefaultAttentionScratchBytes = 256L << 20;

    /// <summary>Warps (one score row each) per block of attention_softmax_forward_bf16.</summary>
    private const int AttentionSoftmaxWarps = 4;

    private Tensor? attentionScores, attentionProbs;

    /// <summary>
    /// Upper bound on the bf16 attention scratch (bytes). Work is split into chunks of whole (batch, head) pairs,
    /// or of query rows of one head when a head does not fit; one score row is always allowed. Results do not
    /// depend on it (tests lower it to exercise the chunking).
    /// </summary>
    internal long AttentionScratchBytes { get; set; } = DefaultAttentionScratchBytes;

    /// <summary>Bytes of bf16 attention scratch held now (for tests of the cap).</summary>
    internal long AttentionScratchAllocatedBytes => (attentionScores?.Bytes ?? 0) + (attentionProbs?.Bytes ?? 0);

    private void AttentionBf16(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, AttentionReference.Dims n, bool causal, float scale)
    {
        var (groups, rows) = AttentionBf16Chunk(n);
        var (s, p) = AttentionScratch((long)groups * rows * n.Nk);
        int pairs = n.Batch * n.Heads, d = n.HeadDim;
        for (var g0 = 0; g0 < pairs; g0 += groups)
        {
            var g1 = Math.Min(pairs, g0 + groups);
            for (var q0 = 0; q0 < n.Nq; q0 += rows)
            {
                var nr = Math.Min(rows, n.Nq - q0);
                var chunkScores = (long)nr * n.Nk;
                foreach (var (b, h0, count, first) in ImageSegments(n, g0, g1))
                    Gpu.GemmBf16StridedBatched(GemmOp.T, GemmOp.N, n.Nk, nr, d, 1f, HeadPtr(k, n, b, h0, 0, n.Nk), n.Width, d,
                        HeadPtr(q, n, b, h0, q0, n.Nq), n.Width, d, 0f, s + first * chunkScores * sizeof(float), n.Nk, chunkScores, count);
                // A chunk of several pairs holds whole heads (nr = Nq), so its lse rows are one contiguous run.
                AttentionSoftmaxBf16(p, Dev(lse) + ((long)g0 * n.Nq + q0) * sizeof(float), s, (g1 - g0) * nr, nr, q0, n.Nk, causal, scale);
                foreach (var (b, h0, count, first) in ImageSegments(n, g0, g1))
                    Gpu.GemmBf16StridedBatched(GemmOp.N, GemmOp.N, d, nr, n.Nk, 1f, HeadPtr(v, n, b, h0, 0, n.Nk), n.Width, d,
                        p + first * chunkScores * DType.BF16.Size(), n.Nk, chunkScores, 0f, HeadPtr(o, n, b, h0, q0, n.Nq), n.Width, d, count);
            }
        }
    }

    /// <summary>attention_softmax_forward_bf16 over p[rows, Nk] (bf16), lse[rows], s[rows, Nk]; row r is query q0 + r % nrows.</summary>
    internal void AttentionSoftmaxBf16(DevicePtr p, DevicePtr lse, DevicePtr s, int rows, int nrows, int q0, int nk, bool causal, float scale) =>
        Gpu.Launch("attention_softmax_forward_bf16", Blocks(rows, AttentionSoftmaxWarps), AttentionSoftmaxWarps * 32, 0,
            Args().Ptr(p).Ptr(lse).Ptr(s).Int(rows).Int(nrows).Int(q0).Int(nk).Int(causal ? 1 : 0).Float(scale));

    /// <summary>
    /// Chunk shape under <see cref="AttentionScratchBytes"/>: (pairs per chunk, query rows per pair). Whole heads
    /// when at least one fits, else one head's queries in runs of as many rows as fit (at least one).
    /// </summary>
    private (int Groups, int Rows) AttentionBf16Chunk(AttentionReference.Dims n)
    {
        var bytesPerRow = (long)n.Nk * (sizeof(float) + DType.BF16.Size());
        var fit = Math.Max(1, AttentionScratchBytes / bytesPerRow);
        return fit >= n.Nq ? ((int)Math.Min(n.Batch * n.Heads, fit / n.Nq), n.Nq) : (1, (int)fit);
    }

    /// <summary>The pairs g0 .. g1-1 (g = b·H + h) split by image: (b, first head, heads, offset of the first pair in the chunk).</summary>
    private static IEnumerable<(int B, int H0, int Count, int First)> ImageSegments(AttentionReference.Dims n, int g0, int g1)
    {
        for (var g = g0; g < g1;)
        {
            int b = g / n.Heads, h0 = g % n.Heads, count = Math.Min(n.Heads - h0, g1 - g);
            yield return (b, h0, count, g - g0);
            g += count;
        }
    }

    /// <summary>Address of row <paramref name="token"/> of head h of image b in a [B, tokens, H*D] tensor.</summary>
    private static DevicePtr HeadPtr(Tensor t, AttentionReference.Dims n, int b, int h, int token, int tokens) =>
        Dev(t) + (((long)b * tokens + token) * n.Width + (long)h * n.HeadDim) * t.DType.Size();

    /// <summary>The S (fp32) and P (bf16) scratch for <paramref name="scores"/> scores, grown on demand.</summary>
    private (DevicePtr S, DevicePtr P) AttentionScratch(long scores)
    {
        if (attentionScores is null || attentionScores.Length < scores)
        {
            DisposeAttentionScratch();
            attentionScores = Allocate(new Shape(checked((int)scores)), "attention bf16 scores");
            attentionProbs = Allocate(new Shape(checked((int)scores)), "attention bf16 probabilities", DType.BF16);
        }
        return (Dev(attentionScores), Dev(attentionProbs!));
    }

    private void DisposeAttentionScratch()
    {
        attentionScores?.Dispose();
        attentionProbs?.Dispose();
        attentionScores = attentionProbs = null;
    }
}
