using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    public void PatchEmbed(Tensor y, Tensor image, Tensor w)
    {
        var n = PatchEmbedReference.CheckShapes("PatchEmbed", y, image, w);
        // im2col, then the fast GEMM: y[B·P, C] = col[B·P, taps] · w[C, taps]ᵀ (PatchEmbedReference.Forward's loops).
        int rows = n.Batch * n.Patches, taps = n.Taps;
        var col = new float[rows * taps];
        PatchEmbedReference.Im2Col<float>(col, Cpu(image).Span, n);
        CpuTensor ty = Cpu(y), tw = Cpu(w);
        Sgemm.Run(false, true, rows, n.Channels, taps, col, 0, taps, tw.Storage, tw.Offset, taps, ty.Storage, ty.Offset, n.Channels, accumulate: false);
    }

    public void UpsampleBilinear(Tensor y, Tensor x)
    {
        var n = UpsampleReference.CheckShapes("UpsampleBilinear", y, x);
        UpsampleReference.Forward(Cpu(y).Span, Cpu(x).Span, n);
    }

    public void UpsampleBilinearBackward(Tensor dx, Tensor dy)
    {
        var n = UpsampleReference.CheckShapes("UpsampleBilinearBackward", dy, dx);
        UpsampleReference.Backward(Cpu(dx).Span, Cpu(dy).Span, n);
    }
}
