using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    public void Attention(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, int heads, bool causal, float scale)
    {
        var n = AttentionReference.CheckForward("Attention", o, lse, q, k, v, heads, causal, scale);
        CpuTensor to = Cpu(o), tl = Cpu(lse), tq = Cpu(q), tk = Cpu(k), tv = Cpu(v);
        // (batch, head) pairs write disjoint columns: parallel and still deterministic.
        if (q.DType == DType.BF16)
            Parallel.For(0, n.Batch * n.Heads, bh =>
                AttentionBf16Reference.ForwardHead(to.Span, tl.Span, tq.Span, tk.Span, tv.Span, n, bh, causal, scale));
        else
            Parallel.For(0, n.Batch * n.Heads, bh =>
                AttentionReference.ForwardHead(to.Span, tl.Span, tq.Span, tk.Span, tv.Span, n, bh, causal, scale));
    }

    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse,
        int heads, bool causal, float scale)
    {
        var n = AttentionReference.CheckBackward("AttentionBackward", dq, dk, dv, dout, q, k, v, o, lse, heads, causal, scale);
        CpuTensor tdq = Cpu(dq), tdk = Cpu(dk), tdv = Cpu(dv), tdo = Cpu(dout), tq = Cpu(q), tk = Cpu(k), tv = Cpu(v), to = Cpu(o), tl = Cpu(lse);
        Parallel.For(0, n.Batch * n.Heads, bh =>
            AttentionReference.BackwardHead(tdq.Span, tdk.Span, tdv.Span, tdo.Span, tq.Span, tk.Span, tv.Span, to.Span, tl.Span, n, bh, causal, scale));
    }
}
