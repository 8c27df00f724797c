using System.Numerics;
using Tensor = BayesPfl.Engine.Tensors.Tensor;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// Multi-head attention, the readable way: per (b, h, query) the score row is materialised, softmaxed and
/// applied to v. Layout: q[B,Nq,H*D], k,v[B,Nk,H*D] (head h owns columns h*D..h*D+D-1), o[B,Nq,H*D],
/// lse[B,H,Nq]. Generic so that finite-difference tests run it in double. Same argument order as
/// src/Kernels/attention.cu. Work is split per (batch, head) pair, which touches disjoint columns, so the
/// CPU backend runs the pairs in parallel with results independent of the thread count.
/// </summary>
public static class AttentionReference
{
    /// <summary>Sizes of one attention call, after every shape was checked.</summary>
    public readonly record struct Dims(int Batch, int Nq, int Nk, int Heads, int HeadDim)
    {
        public int Width => Heads * HeadDim;
    }

    /// <summary>Checks the forward's tensors against each other; names the op and the tensors on mismatch.</summary>
    public static Dims CheckForward(string op, Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, int heads, bool causal, float scale)
    {
        // q, k, v all F32, or all BF16 (the bf16 mode); o and lse are F32 either way.
        Check.F32(op, o, lse);
        Check.SameDType(op, q, k);
        Check.SameDType(op, q, v);
        Check.That(heads >= 1, op, $"heads must be >= 1, got {heads}");
        Check.That(float.IsFinite(scale), op, $"scale must be finite, got {scale}");
        Check.Rank(op, q, 3);
        int b = q.Shape[0], nq = q.Shape[1], width = q.Shape[2];
        Check.That(width % heads == 0, op, $"{q.Name} has shape {q.Shape}: width {width} is not divisible by {heads} heads");
        Check.Shape(op, k, b, -1, width);
        var nk = k.Shape[1];
        Check.That(nk >= 1, op, $"{k.Name} has shape {k.Shape}: attention needs at least one key");
        Check.SameShape(op, v, k);
        Check.SameShape(op, o, q);
        Check.Shape(op, lse, b, heads, nq);
        Check.That(!causal || nq == nk, op, $"causal attention needs as many queries as keys: {q.Name} {q.Shape}, {k.Name} {k.Shape}");
        return new Dims(b, nq, nk, heads, width / heads);
    }

    public static Dims CheckBackward(string op, Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse,
        int heads, bool causal, float scale)
    {
        var dims = CheckForward(op, o, lse, q, k, v, heads, causal, scale);
        Check.F32Training(op, q, dq, dk, dv, dout);
        Check.SameShape(op, dq, q);
        Check.SameShape(op, dk, k);
        Check.SameShape(op, dv, v);
        Check.SameShape(op, dout, o);
        return dims;
    }

    public static void Forward<T>(Span<T> o, Span<T> lse, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v,
        Dims n, bool causal, T scale) where T : IFloatingPointIeee754<T>
    {
        for (var bh = 0; bh < n.Batch * n.Heads; bh++) ForwardHead(o, lse, q, k, v, n, bh, causal, scale);
    }

    /// <summary>The forward for one (batch, head) pair bh = b·H + h: it writes only that head's o columns and lse row.</summary>
    public static void ForwardHead<T>(Span<T> o, Span<T> lse, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v,
        Dims n, int bh, bool causal, T scale) where T : IFloatingPointIeee754<T>
    {
        int b = bh / n.Heads, h = bh % n.Heads, hd = n.HeadDim;
        var s = new T[n.Nk];
        for (var i = 0; i < n.Nq; i++)
        {
            var keys = Scores(s, q, k, n, b, h, i, causal, scale);
            lse[bh * n.Nq + i] = Probabilities(s.AsSpan(0, keys));
            ApplyToValues(o, v, s.AsSpan(0, keys), n, b, h, i);
        }
    }

    /// <summary>
    /// Softmax of one score row in place, max-subtracted: s_j ← exp(s_j − m) / l with l = Σ exp(s_j − m), summed
    /// in j order; returns the row's log-sum-exp m + log l.
    /// </summary>
    internal static T Probabilities<T>(Span<T> s) where T : IFloatingPointIeee754<T>
    {
        var m = T.NegativeInfinity;
        foreach (var x in s) m = T.Max(m, x);
        var l = T.Zero;
        for (var j = 0; j < s.Length; j++) l += s[j] = T.Exp(s[j] - m);
        for (var j = 0; j < s.Length; j++) s[j] /= l;
        return m + T.Log(l);
    }

    /// <summary>o_i of head h = Σ_j p_j v_j over the keys p covers, accumulated in j order (overwrites that head's o row).</summary>
    internal static void ApplyToValues<T>(Span<T> o, ReadOnlySpan<T> v, ReadOnlySpan<T> p, Dims n, int b, int h, int i)
        where T : IFloatingPointIeee754<T>
    {
        var orow = o.Slice(Row(n, b, i, n.Nq) + h * n.HeadDim, n.HeadDim);
        orow.Clear();
        for (var j = 0; j < p.Length; j++) TensorPrimitives.MultiplyAdd(v.Slice(Row(n, b, j, n.Nk) + h * n.HeadDim, n.HeadDim), p[j], orow, orow);
    }

    /// <summary>
    /// dq, dk, dv overwritten. P is recomputed from the saved lse, Δ_i = Σ_d dO⊙O; then
    /// dV += Pᵀ dO, dS = P ⊙ (dO Vᵀ − Δ), dQ = scale · dS K, dK = scale · dSᵀ Q.
    /// </summary>
    public static void Backward<T>(Span<T> dq, Span<T> dk, Span<T> dv, ReadOnlySpan<T> dout, ReadOnlySpan<T> q, ReadOnlySpan<T> k,
        ReadOnlySpan<T> v, ReadOnlySpan<T> o, ReadOnlySpan<T> lse, Dims n, bool causal, T scale) where T : IFloatingPointIeee754<T>
    {
        for (var bh = 0; bh < n.Batch * n.Heads; bh++) BackwardHead(dq, dk, dv, dout, q, k, v, o, lse, n, bh, causal, scale);
    }

    /// <summary>The backward for one (batch, head) pair: it overwrites only that head's columns of dq, dk, dv.</summary>
    public static void BackwardHead<T>(Span<T> dq, Span<T> dk, Span<T> dv, ReadOnlySpan<T> dout, ReadOnlySpan<T> q, ReadOnlySpan<T> k,
        ReadOnlySpan<T> v, ReadOnlySpan<T> o, ReadOnlySpan<T> lse, Dims n, int bh, bool causal, T scale) where T : IFloatingPointIeee754<T>
    {
        int b = bh / n.Heads, h = bh % n.Heads, hd = n.HeadDim;
        for (var t = 0; t < n.Nq; t++) dq.Slice(Row(n, b, t, n.Nq) + h * hd, hd).Clear();
        for (var t = 0; t < n.Nk; t++)
        {
            dk.Slice(Row(n, b, t, n.Nk) + h * hd, hd).Clear();
            dv.Slice(Row(n, b, t, n.Nk) + h * hd, hd).Clear();
        }
        var s = new T[n.Nk];
        for (var i = 0; i < n.Nq; i++)
        {
            var keys = Scores(s, q, k, n, b, h, i, causal, scale);
            var qi = Row(n, b, i, n.Nq) + h * hd;
            ReadOnlySpan<T> qrow = q.Slice(qi, hd), dorow = dout.Slice(qi, hd);
            var dqrow = dq.Slice(qi, hd);
            var delta = TensorPrimitives.Dot(dorow, o.Slice(qi, hd));
            for (var j = 0; j < keys; j++)
            {
                var kj = Row(n, b, j, n.Nk) + h * hd;
                var p = T.Exp(s[j] - lse[bh * n.Nq + i]);
                var ds = p * (TensorPrimitives.Dot(dorow, v.Slice(kj, hd)) - delta) * scale;
                Span<T> dvrow = dv.Slice(kj, hd), dkrow = dk.Slice(kj, hd);
                TensorPrimitives.MultiplyAdd(dorow, p, dvrow, dvrow);
                TensorPrimitives.MultiplyAdd(k.Slice(kj, hd), ds, dqrow, dqrow);
                TensorPrimitives.MultiplyAdd(qrow, ds, dkrow, dkrow);
            }
        }
    }

    /// <summary>Fills s[0..keys) with scale·q_i·k_j for the keys query i sees; returns how many it sees.</summary>
    internal static int Scores<T>(T[] s, ReadOnlySpan<T> q, ReadOnlySpan<T> k, Dims n, int b, int h, int i, bool causal, T scale)
        where T : IFloatingPointIeee754<T>
    {
        var keys = causal ? i + 1 : n.Nk;
        var qrow = q.Slice(Row(n, b, i, n.Nq) + h * n.HeadDim, n.HeadDim);
        for (var j = 0; j < keys; j++) s[j] = TensorPrimitives.Dot(qrow, k.Slice(Row(n, b, j, n.Nk) + h * n.HeadDim, n.HeadDim)) * scale;
        return keys;
    }

    private static int Row(Dims n, int b, int t, int tokens) => (b * tokens + t) * n.Width;
}
