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
// (Nq is the chunk's query rows.) Batching along images instead of heads only changes the strides: N·H*D for
// q, k, v, o and H·Nq·Nk for S and P (see GemmRun).
public sealed partial class CudaBackend
{
    /// <summary>
    /// Default bound on the bf16 attention scratch: scores S (fp32) and probabilities P (bf16), 6 bytes per score.
    /// ViT-L/14 at 518 px has Nq = Nk = 1370 and 16 heads: 16·1370²·6 B ≈ 180 MB per image. Holding all of it would
    /// eat a quarter of what bf16 weights save on the device (0.78 GB, Bf16MemoryPlanTests), so an image runs in
    /// 4 chunks of 4 heads (45 MB): 12 launches per layer instead of 3, each GEMM still 4·1370²·64 multiply-adds.
    /// Short sequences (the text tower: 77 tokens) run many whole images per chunk.
    /// </summary>
    public const long DefaultAttentionScratchBytes = 64L << 20;

    /// <summary>Warps (one score row each) per block of attention_softmax_forward_bf16.</summary>
    private const int AttentionSoftmaxWarps = 4;

    private readonly Scratch attentionScores, attentionProbs;

    /// <summary>
    /// Upper bound on the bf16 attention scratch (bytes). Work is split into chunks of whole (batch, head) pairs,
    /// or of query rows of one head when a head does not fit; one score row is always allowed. Every score row goes
    /// through the same steps whatever the chunk (bit for bit on the emulator; cuBLAS may pick another GEMM
    /// algorithm for other sizes). Tests lower it to exercise the chunking.
    /// </summary>
    internal long AttentionScratchBytes { get; set; } = DefaultAttentionScratchBytes;

    /// <summary>Bytes of bf16 attention scratch held now (for tests of the cap).</summary>
    internal long AttentionScratchAllocatedBytes => attentionScores.Bytes + attentionProbs.Bytes;

    private void AttentionBf16(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, AttentionReference.Dims n, bool causal, float scale)
    {
        var (groups, rows) = AttentionBf16Chunk(n, AttentionScratchBytes);
        var (s, p) = AttentionScratch((long)groups * rows * n.Nk);
        int pairs = n.Batch * n.Heads, d = n.HeadDim;
        for (var g0 = 0; g0 < pairs; g0 += groups)
        {
            var g1 = Math.Min(pairs, g0 + groups);
            for (var q0 = 0; q0 < n.Nq; q0 += rows)
            {
                var nr = Math.Min(rows, n.Nq - q0);
                var chunkScores = (long)nr * n.Nk;
                foreach (var run in GemmRuns(n, g0, g1))
                {
                    var (qStride, kStride, sStride) = run.Strides(n, chunkScores);
                    Gpu.GemmBf16StridedBatched(GemmOp.T, GemmOp.N, n.Nk, nr, d, 1f, HeadPtr(k, n, run.B, run.H, 0, n.Nk), n.Width, kStride,
                        HeadPtr(q, n, run.B, run.H, q0, n.Nq), n.Width, qStride, 0f, s + run.First * chunkScores * sizeof(float), n.Nk, sStride,
                        run.Count);
                }
                // A chunk of several pairs holds whole heads (nr = Nq), so its lse rows are one contiguous run.
                AttentionSoftmaxBf16(p, Dev(lse) + ((long)g0 * n.Nq + q0) * sizeof(float), s, (g1 - g0) * nr, nr, q0, n.Nk, causal, scale);
                foreach (var run in GemmRuns(n, g0, g1))
                {
                    var (qStride, kStride, sStride) = run.Strides(n, chunkScores);
                    Gpu.GemmBf16StridedBatched(GemmOp.N, GemmOp.N, d, nr, n.Nk, 1f, HeadPtr(v, n, run.B, run.H, 0, n.Nk), n.Width, kStride,
                        p + run.First * chunkScores * DType.BF16.Size(), n.Nk, sStride, 0f, HeadPtr(o, n, run.B, run.H, q0, n.Nq), n.Width, qStride,
                        run.Count);
                }
            }
        }
    }

    /// <summary>attention_softmax_forward_bf16 over p[rows, Nk] (bf16), lse[rows], s[rows, Nk]; row r is query q0 + r % nrows.</summary>
    internal void AttentionSoftmaxBf16(DevicePtr p, DevicePtr lse, DevicePtr s, int rows, int nrows, int q0, int nk, bool causal, float scale) =>
        Gpu.Launch("attention_softmax_forward_bf16", Blocks(rows, AttentionSoftmaxWarps), AttentionSoftmaxWarps * 32, 0,
            Args().Ptr(p).Ptr(lse).Ptr(s).Int(rows).Int(nrows).Int(q0).Int(nk).Int(causal ? 1 : 0).Float(scale));

    /// <summary>
    /// Chunk shape under <paramref name="capBytes"/>: (pairs per chunk, query rows per pair). Whole images when at
    /// least one fits (so that GemmRuns can batch along the images), else an image's heads, else one head's queries
    /// (at least one row). Heads and rows are split into equal parts: as many chunks as the cap forces, each no
    /// larger than it needs to be (ViT-L's 16 heads under 5 that fit run as 4 x 4, not 5+5+5+1).
    /// </summary>
    private static (int Groups, int Rows) AttentionBf16Chunk(AttentionReference.Dims n, long capBytes)
    {
        var bytesPerRow = (long)n.Nk * (sizeof(float) + DType.BF16.Size());
        var fit = Math.Max(1, capBytes / bytesPerRow);
        if (fit < n.Nq) return (1, EqualParts(n.Nq, (int)fit));
        var pairs = fit / n.Nq;
        return pairs >= n.Heads
            ? ((int)Math.Min(n.Batch * n.Heads, pairs - pairs % n.Heads), n.Nq)
            : (EqualParts(n.Heads, (int)pairs), n.Nq);
    }

    /// <summary>Size of the parts when <paramref name="total"/> is split into as few equal parts of at most <paramref name="most"/>.</summary>
    private static int EqualParts(int total, int most)
    {
        var parts = (total + most - 1) / most;
        return (total + parts - 1) / parts;
    }

    /// <summary>Scores one chunk holds under the default cap: what the scratch grows to (for memory plans).</summary>
    internal static long AttentionBf16ScratchScores(AttentionReference.Dims n)
    {
        var (groups, rows) = AttentionBf16Chunk(n, DefaultAttentionScratchBytes);
        return (long)groups * rows * n.Nk;
    }

    /// <summary>
    /// One strided-batched GEMM over <see cref="Count"/> (b, h) pairs starting at image B, head H, whose scores start
    /// <see cref="First"/> pairs into the chunk: along the heads of one image, or along images at one head.
    /// </summary>
    private readonly record struct GemmRun(int B, int H, int Count, int First, bool AlongImages)
    {
        /// <summary>Element strides between batch items: of q and o, of k and v, and of S and P.</summary>
        public (long Q, long K, long S) Strides(AttentionReference.Dims n, long chunkScores) => AlongImages
            ? ((long)n.Nq * n.Width, (long)n.Nk * n.Width, n.Heads * chunkScores)
            : (n.HeadDim, n.HeadDim, chunkScores);
    }

    /// <summary>
    /// The GEMMs that cover pairs g0 .. g1-1 (g = b·H + h). A strided batch cannot step from the last head of image b
    /// to the first of b+1, so it runs along the heads of each image, or, for a chunk of whole images that
    /// outnumber the heads (many short sequences: the text tower), along the images at each head: fewer calls.
    /// </summary>
    private static IEnumerable<GemmRun> GemmRuns(AttentionReference.Dims n, int g0, int g1)
    {
        var images = (g1 - g0) / n.Heads;
        if (g0 % n.Heads == 0 && (g1 - g0) % n.Heads == 0 && images > n.Heads)
        {
            for (var h = 0; h < n.Heads; h++) yield return new(g0 / n.Heads, h, images, h, AlongImages: true);
            yield break;
        }
        for (var g = g0; g < g1;)
        {
            int b = g / n.Heads, h0 = g % n.Heads, count = Math.Min(n.Heads - h0, g1 - g);
            yield return new(b, h0, count, g - g0, AlongImages: false);
            g += count;
        }
    }

    /// <summary>Address of row <paramref name="token"/> of head h of image b in a [B, tokens, H*D] tensor.</summary>
    private static DevicePtr HeadPtr(Tensor t, AttentionReference.Dims n, int b, int h, int token, int tokens) =>
        Dev(t) + (((long)b * tokens + token) * n.Width + (long)h * n.HeadDim) * t.DType.Size();

    /// <summary>The S (fp32) and P (bf16) scratch for <paramref name="scores"/> scores, grown on demand.</summary>
    private (DevicePtr S, DevicePtr P) AttentionScratch(long scores) =>
        (Dev(attentionScores.AtLeast(scores)), Dev(attentionProbs.AtLeast(scores)));
}
