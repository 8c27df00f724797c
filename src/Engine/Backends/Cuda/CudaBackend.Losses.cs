using BayesPfl.Engine.Tensors;
using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

// Launchers of losses.cu and adam.cu.
public sealed partial class CudaBackend
{
    private const int LossThreads = 256;

    /// <summary>At most this many partial-sum rows; the count depends on the size only, so reruns add in the same order.</summary>
    private const int MaxLossBlocks = 1024;

    /// <summary>Scratch for seg_loss_partial's rows (MaxLossBlocks × 7), allocated on first use, freed in Dispose.</summary>
    private Tensor? segPartials;

    public void SegLoss(Tensor loss, Tensor stats, Tensor logits, Tensor mask)
    {
        var (bt, plane) = LossShapes.Seg("SegLoss", loss, stats, logits, mask, backward: false);
        var blocks = Math.Min(Blocks((long)bt * plane, LossThreads), MaxLossBlocks);
        segPartials ??= Allocate(new Shape(MaxLossBlocks, 7), "seg_loss partials");
        Gpu.Launch("seg_loss_partial", blocks, LossThreads, 0, Args().Ptr(Dev(segPartials)).Ptr(Dev(logits)).Ptr(Dev(mask)).Int(bt).Int(plane));
        Gpu.Launch("seg_loss_finish", 1, LossThreads, 0, Args().Ptr(Dev(loss)).Ptr(Dev(stats)).Ptr(Dev(segPartials)).Int(blocks));
    }

    public void SegLossBackward(Tensor dlogits, Tensor stats, Tensor logits, Tensor mask, float dFocal, float dDice)
    {
        var (bt, plane) = LossShapes.Seg("SegLossBackward", dlogits, stats, logits, mask, backward: true);
        var n = (long)bt * plane;
        Gpu.Launch("seg_loss_backward", GridStride(n), PointwiseThreads, 0,
            Args().Ptr(Dev(dlogits)).Ptr(Dev(stats)).Ptr(Dev(logits)).Ptr(Dev(mask)).Int(bt).Int(plane).Float(dFocal).Float(dDice));
    }

    public void AdamStep(Tensor param, Tensor m, Tensor v, Tensor grad, AdamScalars s)
    {
        var n = LossShapes.Adam(param, m, v, grad);
        if (n == 0) return;
        Gpu.Launch("adam_step", GridStride(n), PointwiseThreads, 0, Args().Ptr(Dev(param)).Ptr(Dev(m)).Ptr(Dev(v)).Ptr(Dev(grad))
            .Long(n).Float(s.Beta1).Float(s.OneMinusBeta1).Float(s.Beta2).Float(s.OneMinusBeta2).Float(s.Eps).Float(s.StepSize).Float(s.Bc2Sqrt));
    }
}
