using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

public sealed partial class CpuBackend
{
    public void PatchEmbed(Tensor y, Tensor image, Tensor w)
    {
        var n = PatchEmbedReference.CheckShapes("PatchEmbed", y, image, w);
        PatchEmbedReference.Forward(Cpu(y).Span, Cpu(image).Span, Cpu(w).Span, n);
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
