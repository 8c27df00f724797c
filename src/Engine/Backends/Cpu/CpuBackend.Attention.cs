using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    public void Attention(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, int heads, bool causal, float scale)
    {
        var n = AttentionReference.CheckForward("Attention", o, lse, q, k, v, heads, causal, scale);
        AttentionReference.Forward(Cpu(o).Span, Cpu(lse).Span, Cpu(q).Span, Cpu(k).Span, Cpu(v).Span, n, causal, scale);
    }

    public void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse,
        int heads, bool causal, float scale)
    {
        var n = AttentionReference.CheckBackward("AttentionBackward", dq, dk, dv, dout, q, k, v, o, lse, heads, causal, scale);
        AttentionReference.Backward(Cpu(dq).Span, Cpu(dk).Span, Cpu(dv).Span, Cpu(dout).Span, Cpu(q).Span, Cpu(k).Span, Cpu(v).Span,
            Cpu(o).Span, Cpu(lse).Span, n, causal, scale);
    }
}
