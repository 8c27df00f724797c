using BayesPfl.Engine.Tensors;
using BayesPfl.Host;

namespace BayesPfl.Engine.Backends.Cuda;

// Launchers of pointwise.cu (grid-stride loops) and softmax.cu (one block per row).
public sealed partial class CudaBackend
{
    private const int PointwiseThreads = 256;

    public void Gelu(Tensor y, Tensor x, GeluKind kind) =>
        Pointwise("gelu_forward", BasicOpShapes.Pointwise("Gelu", y, x), Args().Ptr(Dev(y)).Ptr(Dev(x)), (int)kind);

    public void GeluBackward(Tensor dx, Tensor dy, Tensor x, GeluKind kind) =>
        Pointwise("gelu_backward", BasicOpShapes.Pointwise("GeluBackward", dx, dy, x), Args().Ptr(Dev(dx)).Ptr(Dev(dy)).Ptr(Dev(x)), (int)kind);

    public void Add(Tensor y, Tensor a, Tensor b) =>
        Pointwise("add_forward", BasicOpShapes.Pointwise("Add", y, a, b), Args().Ptr(Dev(y)).Ptr(Dev(a)).Ptr(Dev(b)));

    public void Softmax(Tensor y, Tensor x)
    {
        var (rows, c) = BasicOpShapes.Rows("Softmax", x, y);
        RowKernel("softmax_forward", rows, c, Args().Ptr(Dev(y)).Ptr(Dev(x)));
    }

    public void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y)
    {
        var (rows, c) = BasicOpShapes.Rows("SoftmaxBackward", y, dx, dy);
        RowKernel("softmax_backward", rows, c, Args().Ptr(Dev(dx)).Ptr(Dev(dy)).Ptr(Dev(y)));
    }

    public void Softplus(Tensor y, Tensor x) =>
        Pointwise("softplus_forward", BasicOpShapes.Pointwise("Softplus", y, x), Args().Ptr(Dev(y)).Ptr(Dev(x)));

    public void SoftplusBackward(Tensor dx, Tensor dy, Tensor x) =>
        Pointwise("softplus_backward", BasicOpShapes.Pointwise("SoftplusBackward", dx, dy, x), Args().Ptr(Dev(dx)).Ptr(Dev(dy)).Ptr(Dev(x)));

    public void Tanh(Tensor y, Tensor x) =>
        Pointwise("tanh_forward", BasicOpShapes.Pointwise("Tanh", y, x), Args().Ptr(Dev(y)).Ptr(Dev(x)));

    public void TanhBackward(Tensor dx, Tensor dy, Tensor y) =>
        Pointwise("tanh_backward", BasicOpShapes.Pointwise("TanhBackward", dx, dy, y), Args().Ptr(Dev(dx)).Ptr(Dev(dy)).Ptr(Dev(y)));

    /// <summary>Appends n (and the optional int scalar) to the pointer arguments already in args, then launches.</summary>
    private void Pointwise(string kernel, long n, KernelArgs args, int? scalar = null)
    {
        if (n == 0) return;
        args.Long(n);
        if (scalar is int s) args.Int(s);
        Gpu.Launch(kernel, GridStride(n), PointwiseThreads, 0, args);
    }

    /// <summary>Blocks for a grid-stride loop over n items: one item per thread up to a cap that still fills any GPU.</summary>
    private static Dim3 GridStride(long n) => Math.Min(Blocks(n, PointwiseThreads), 2048);

    /// <summary>One block per row; threads: the row width rounded up to a warp, at most 256 (block_sum needs whole warps).</summary>
    private void RowKernel(string kernel, int rows, int c, KernelArgs args)
    {
        if (rows == 0) return;
        Gpu.Launch(kernel, rows, RowThreads(c), 0, args.Int(rows).Int(c));
    }

    private static int RowThreads(int c) => Math.Clamp((c + 31) / 32 * 32, 32, 256);
}
