using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends;

/// <summary>Shape checks of the training-loss ops and Adam, shared by the CPU reference and the CUDA launchers.</summary>
public static class LossShapes
{
    /// <summary>Length of the saved statistics of SegLoss (7 sums, padded to 8).</summary>
    public const int SegStats = 8;

    /// <summary>Largest pooled pixel count whose float class counts stay exact (2^24).</summary>
    public const long MaxSegPixels = 1L << 24;

    /// <summary>logits[Bt,2,S,S], mask[Bt,S,S], stats[8] (and loss[2] or dlogits like logits) → (Bt, S·S).</summary>
    public static (int Bt, int Plane) Seg(string op, Tensor outOrGrad, Tensor stats, Tensor logits, Tensor mask, bool backward)
    {
        Check.F32(op, outOrGrad, stats, logits, mask);
        Check.Shape(op, logits, -1, 2, -1, -1);
        int bt = logits.Shape[0], h = logits.Shape[2], w = logits.Shape[3];
        Check.Shape(op, mask, bt, h, w);
        Check.Shape(op, stats, SegStats);
        if (backward) Check.SameShape(op, outOrGrad, logits);
        else Check.Shape(op, outOrGrad, 2);
        Check.That(bt > 0 && h > 0 && w > 0, op, $"{logits.Name}{logits.Shape} is empty; the pooled loss is undefined");
        // The kernels count pixels in float sums, exact only up to 2^24 (62 maps of 518x518; training uses 32).
        Check.That((long)bt * h * w <= MaxSegPixels, op, $"{logits.Name}{logits.Shape} has more than {MaxSegPixels} pixels; split the batch");
        return (bt, checked(h * w));
    }

    public static int Adam(Tensor param, Tensor m, Tensor v, Tensor grad)
    {
        const string op = "AdamStep";
        Check.F32(op, param, m, v, grad);
        Check.SameShape(op, m, param);
        Check.SameShape(op, v, param);
        Check.SameShape(op, grad, param);
        return checked((int)param.Length);
    }
}
