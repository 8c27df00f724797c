using System.Runtime.InteropServices;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Detection;

namespace BayesPfl.Native;

/// <summary>Checks and converts the C arguments; every failure is an ArgumentException naming the C parameter.</summary>
internal static unsafe class Args
{
    public static void NotNull(void* pointer, string name)
    {
        if (pointer == null) throw new ArgumentException($"{name} is NULL");
    }

    /// <summary>A NUL-terminated UTF-8 string argument.</summary>
    public static string Utf8(byte* text, string name)
    {
        NotNull(text, name);
        return Marshal.PtrToStringUTF8((nint)text)!;
    }

    /// <summary>Checks that a struct argument was compiled against this header (its first field is its size).</summary>
    public static void StructSize(uint size, int expected, string name)
    {
        if (size != expected)
            throw new ArgumentException(size > expected
                ? $"{name}->struct_size is {size}, larger than this library's {expected}: the caller was built against a newer bayespfl.h than libbayespfl {Exports.Version}"
                : $"{name}->struct_size is {size}, expected sizeof = {expected} (set it, or call bpfl_options_default)");
    }

    /// <summary>The engine's options from a bpfl_options (NULL: the defaults).</summary>
    public static DetectorOptions Options(BpflOptions* options)
    {
        if (options == null) return new DetectorOptions();
        StructSize(options->StructSize, sizeof(BpflOptions), "options");
        var o = *options;
        var device = o.Device switch
        {
            0 => DetectorDevice.Auto,
            1 => DetectorDevice.Cpu,
            2 => DetectorDevice.Cuda,
            _ => throw new ArgumentException($"options->device is {o.Device}; expected BPFL_DEVICE_AUTO (0), _CPU (1) or _CUDA (2)"),
        };
        var precision = o.Precision switch
        {
            0 => DetectorPrecision.Fp32,
            1 => DetectorPrecision.Bf16,
            _ => throw new ArgumentException($"options->precision is {o.Precision}; expected BPFL_PRECISION_FP32 (0) or _BF16 (1)"),
        };
        if (o.Samples <= 0) throw new ArgumentException($"options->samples is {o.Samples}; it must be positive");
        if (o.TopK < 0) throw new ArgumentException($"options->top_k is {o.TopK}; it must be positive, or 0 for the class default");
        return new DetectorOptions { Device = device, Precision = precision, Samples = o.Samples, Seed = o.Seed, TopK = o.TopK == 0 ? null : o.TopK };
    }

    /// <summary>Copies a caller's RGB8 image (rows <paramref name="stride"/> bytes apart) into an engine image.</summary>
    public static Image8 Rgb8(byte* rgb, int width, int height, int stride)
    {
        NotNull(rgb, "rgb");
        if (width <= 0 || height <= 0) throw new ArgumentException($"image size {width}x{height}: width and height must be positive");
        if (width > ImageFile.MaxSide || height > ImageFile.MaxSide || (long)width * height > ImageFile.MaxPixels)
            throw new ArgumentException($"image size {width}x{height}: more than {ImageFile.MaxSide} px a side or {ImageFile.MaxPixels >> 20} Mpx");
        var row = 3 * width;
        if (stride < row) throw new ArgumentException($"row_stride_bytes is {stride}, less than 3 * width = {row}");
        var pixels = new byte[(long)row * height];
        for (var y = 0; y < height; y++)
            new ReadOnlySpan<byte>(rgb + (long)y * stride, row).CopyTo(pixels.AsSpan(y * row, row));
        return new Image8(width, height, 3, pixels, $"(rgb8 image {width}x{height})");
    }
}
