using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

// Training losses and Adam: the references of SegLossReference and AdamReference, single-threaded (the
// pooled sums must not depend on a split; 32 maps of 518x518 take a fraction of a second).
public sealed partial class CpuBackend
{
    public void SegLoss(Tensor loss, Tensor stats, Tensor logits, Tensor mask)
    {
        var (bt, plane) = LossShapes.Seg("SegLoss", loss, stats, logits, mask, backward: false);
        SegLossReference.Forward<float>(Cpu(loss).Span, Cpu(stats).Span, Cpu(logits).Span, Cpu(mask).Span, bt, plane);
    }

    public void SegLossBackward(Tensor dlogits, Tensor stats, Tensor logits, Tensor mask, float dFocal, float dDice)
    {
        var (bt, plane) = LossShapes.Seg("SegLossBackward", dlogits, stats, logits, mask, backward: true);
        SegLossReference.Backward<float>(Cpu(dlogits).Span, Cpu(stats).Span, Cpu(logits).Span, Cpu(mask).Span, bt, plane, dFocal, dDice);
    }

    public void AdamStep(Tensor param, Tensor m, Tensor v, Tensor grad, AdamScalars s)
    {
        LossShapes.Adam(param, m, v, grad);
        AdamReference.Step(Cpu(param).Span, Cpu(m).Span, Cpu(v).Span, Cpu(grad).Span, s);
    }
}
