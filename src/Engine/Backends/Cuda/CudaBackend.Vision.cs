using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Tensors;
using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

public sealed partial class CudaBackend
{
    private const int VisionThreads = 256;

    public void PatchEmbed(Tensor y, Tensor image, Tensor w)
    {
        var n = PatchEmbedReference.CheckShapes("PatchEmbed", y, image, w);
        int rows = n.Batch * n.Patches, taps = n.Taps;
        if (y.Length == 0) return;
        using var col = Allocate(new Shape(rows, taps), "PatchEmbed.col");
        Gpu.Launch("patch_embed_im2col", Blocks(col.Length, VisionThreads), VisionThreads, 0,
            Args().Ptr(Dev(col)).Ptr(Dev(image)).Int(n.Batch).Int(n.InChannels).Int(n.Height).Int(n.Width).Int(n.Patch));
        // Row-major y[rows, C] = col[rows, taps] · w[C, taps]ᵀ. cuBLAS is column-major, where these buffers read
        // as yᵀ [C x rows] (ld C), colᵀ [taps x rows] (ld taps) and wᵀ [taps x C] (ld taps); so
        // yᵀ = (wᵀ)ᵀ · colᵀ, i.e. op(A) = T on w, op(B) = N on col, m = C, n = rows, k = taps.
        Gpu.SgemmStridedBatched(GemmOp.T, GemmOp.N, n.Channels, rows, taps, 1f, Dev(w), taps, 0, Dev(col), taps, 0,
            0f, Dev(y), n.Channels, 0, 1);
    }

    public void UpsampleBilinear(Tensor y, Tensor x)
    {
        var n = UpsampleReference.CheckShapes("UpsampleBilinear", y, x);
        if (y.Length == 0) return;
        Gpu.Launch("upsample_bilinear_forward", Blocks(y.Length, VisionThreads), VisionThreads, 0, UpsampleArgs(Args().Ptr(Dev(y)).Ptr(Dev(x)), n));
    }

    public void UpsampleBilinearBackward(Tensor dx, Tensor dy)
    {
        var n = UpsampleReference.CheckShapes("UpsampleBilinearBackward", dy, dx);
        if (dx.Length == 0) return;
        Gpu.Launch("upsample_bilinear_backward", Blocks(dx.Length, VisionThreads), VisionThreads, 0, UpsampleArgs(Args().Ptr(Dev(dx)).Ptr(Dev(dy)), n));
    }

    private static KernelArgs UpsampleArgs(KernelArgs a, UpsampleReference.Dims n) =>
        a.Int(n.Maps).Int(n.InH).Int(n.InW).Int(n.OutH).Int(n.OutW);
}
