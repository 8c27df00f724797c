using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cuda;

// The bf16 precision mode's storage: BF16 tensors hold 2-byte bfloat16 on the device. Host transfers convert on
// the host with Bf16 (the same rounding as the CPU reference and the cast kernel); device conversions run cast.cu.
public sealed partial class CudaBackend
{
    private readonly Scratch bf16Input;

    public void Cast(Tensor dst, Tensor src)
    {
        Check.Length("Cast", dst, src.Length);
        if (dst.DType == src.DType) Gpu.CopyDeviceToDevice(Dev(dst), Dev(src), src.Bytes);
        else Pointwise(dst.DType == DType.BF16 ? "cast_forward_f32_to_bf16" : "cast_forward_bf16_to_f32", src.Length, Args().Ptr(Dev(dst)).Ptr(Dev(src)));
    }

    private void UploadBf16(Tensor dst, ReadOnlySpan<float> src)
    {
        var bits = new ushort[src.Length];
        Bf16.FromFloats(src, bits);
        Gpu.CopyToDevice<ushort>(Dev(dst), bits);
    }

    private void DownloadBf16(Span<float> dst, Tensor src)
    {
        var bits = new ushort[dst.Length];
        Gpu.CopyToHost<ushort>(bits, Dev(src));
        Bf16.ToFloats(bits, dst);
    }

    /// <summary>The bf16 operand a Linear with BF16 weights reads: x itself when BF16, else x cast into the scratch.</summary>
    private Tensor Bf16Operand(Tensor x)
    {
        if (x.DType == DType.BF16) return x;
        var view = bf16Input.AtLeast(x.Length).View(0, x.Shape, $"bf16({x.Name})");
        Cast(view, x);
        return view;
    }
}
