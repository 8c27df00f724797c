using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// Attention in the bf16 precision mode, the readable way (see IBackend.Attention): q, k, v hold bf16 values
/// (floats exactly representable in bf16), scores are fp32 dot products, the softmax runs in fp32 as in
/// <see cref="AttentionReference"/>, the probabilities are rounded to bf16 and P·v is accumulated in fp32.
/// Mirrors the CUDA pipeline step by step: raw scores (a GEMM there), <see cref="SoftmaxRows"/> (the kernel
/// attention_softmax_forward_bf16 in src/Kernels/attention_bf16.cu, same argument order), then P·v.
/// </summary>
public static class AttentionBf16Reference
{
    /// <summary>The forward for one (batch, head) pair bh = b·H + h: it writes only that head's o columns and lse row.</summary>
    public static void ForwardHead(Span<float> o, Span<float> lse, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        AttentionReference.Dims n, int bh, bool causal, float scale)
    {
        int b = bh / n.Heads, h = bh % n.Heads;
        var s = new float[n.Nk];
        var p = new float[n.Nk];
        for (var i = 0; i < n.Nq; i++)
        {
            // Unscaled scores over every key, as the GEMM computes them; the softmax scales and masks.
            AttentionReference.Scores(s, q, k, n, b, h, i, causal: false, 1f);
            var keys = SoftmaxRow(p, lse.Slice(bh * n.Nq + i, 1), s, i, causal, scale);
            AttentionReference.ApplyToValues(o, v, p.AsSpan(0, keys), n, b, h, i);
        }
    }

    /// <summary>
    /// Reference of attention_softmax_forward_bf16: s[rows, Nk] unscaled fp32 scores → p[rows, Nk] (bf16 values,
    /// 0 for masked keys) and lse[rows]. Row r is query q0 + r % nrows of its (batch, head) pair.
    /// </summary>
    public static void SoftmaxRows(Span<float> p, Span<float> lse, ReadOnlySpan<float> s, int rows, int nrows, int q0, int nk,
        bool causal, float scale)
    {
        Check.That(rows >= 0 && nrows >= 1 && q0 >= 0 && nk >= 1, "AttentionBf16Reference.SoftmaxRows",
            $"bad sizes rows {rows}, nrows {nrows}, q0 {q0}, Nk {nk}");
        Check.That(p.Length >= (long)rows * nk && s.Length >= (long)rows * nk && lse.Length >= rows, "AttentionBf16Reference.SoftmaxRows",
            $"buffers too small for {rows} rows of {nk}: p {p.Length}, s {s.Length}, lse {lse.Length}");
        for (var r = 0; r < rows; r++)
            SoftmaxRow(p.Slice(r * nk, nk), lse.Slice(r, 1), s.Slice(r * nk, nk), q0 + r % nrows, causal, scale);
    }

    /// <summary>One row of <see cref="SoftmaxRows"/> for query <paramref name="query"/>; returns how many keys it sees.</summary>
    private static int SoftmaxRow(Span<float> p, Span<float> lse, ReadOnlySpan<float> s, int query, bool causal, float scale)
    {
        var keys = causal ? Math.Min(s.Length, query + 1) : s.Length;
        for (var j = 0; j < keys; j++) p[j] = s[j] * scale;
        lse[0] = AttentionReference.Probabilities(p[..keys]);
        for (var j = 0; j < keys; j++) p[j] = Bf16.Round(p[j]);
        p[keys..].Clear();
        return keys;
    }
}
