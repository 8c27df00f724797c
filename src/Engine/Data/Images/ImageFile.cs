using System.Runtime.InteropServices;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.PixelFormats;

namespace BayesPfl.Engine.Data.Images;

/// <summary>
/// Reads PNG, JPEG, BMP, TIFF (and the other ImageSharp formats) into 8-bit RGB or grey, the way PIL's
/// <c>Image.open(p).convert("RGB")</c> / <c>.convert("L")</c> would. The header is read first and absurd sizes
/// are refused before any pixel buffer is allocated; every failure names the file.
/// </summary>
/// <remarks>
/// Known differences from PIL: JPEG is decoded by ImageSharp, not libjpeg. 4:4:4 files differ by at most
/// ~3 grey levels (IDCT rounding); 4:2:0 files differ more because libjpeg's "fancy" chroma up-sampling is
/// not reproduced (smooth 1500x1000 photo: max 9, mean 1.2 levels; after the bicubic shrink to 518 px:
/// max 3, mean 0.28; see ImageFileTests.JpegDecodingIsCloseToPil). PNG, BMP and TIFF are exact. 16-bit grey keeps its high byte where PIL would clip the
/// 16-bit value to 255 (PIL's 'I' -> 'RGB'), which would turn such images white. 16-bit colour keeps the
/// high byte, as PIL does. Alpha is dropped without compositing, as PIL does. EXIF orientation is ignored by
/// both.
/// </remarks>
public static class ImageFile
{
    /// <summary>Largest accepted side, in pixels.</summary>
    public const int MaxSide = 32768;

    /// <summary>Largest accepted area, in pixels (256 Mpx = 768 MiB of RGB).</summary>
    public const long MaxPixels = 256L << 20;

    /// <summary>Decodes an image file to 8-bit RGB (grey is replicated, alpha dropped).</summary>
    public static Image8 LoadRgb(string path) => Load(path, 3);

    /// <summary>Decodes an image file to 8-bit grey, PIL's mode 'L' (colour -> ITU-R 601 luma, PIL's integer rule).</summary>
    public static Image8 LoadGray(string path) => Load(path, 1);

    private static Image8 Load(string path, int channels)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckHeader(path);
        Image image;
        try
        {
            image = Image.Load(path);
        }
        catch (Exception e) when (IsDecoderFailure(e))
        {
            throw new InvalidDataException($"{path}: cannot decode image ({e.GetType().Name}: {e.Message})", e);
        }
        using (image)
        {
            var rgb = Image8.Create(image.Width, image.Height, 3, path);
            CopyRgb(image, rgb.Pixels);
            return channels == 3 ? rgb : ToGray(rgb);
        }
    }

    /// <summary>Reads only the header; refuses unknown formats, empty and oversized images.</summary>
    public static (int Width, int Height) CheckHeader(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: image file not found", path);
        if (new FileInfo(path).Length == 0) throw new InvalidDataException($"{path}: image file is empty (0 bytes)");
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(path, out format);
        }
        catch (Exception e) when (IsDecoderFailure(e))
        {
            throw new InvalidDataException($"{path}: unreadable image header ({e.GetType().Name}: {e.Message})", e);
        }
        if (info is null || format is null) throw new InvalidDataException($"{path}: not an image in a supported format (PNG, JPEG, BMP, TIFF, GIF, TGA, PBM, WebP)");
        if (info.Width < 1 || info.Height < 1)
            throw new InvalidDataException($"{path}: image header says {info.Width}x{info.Height} pixels");
        if (info.Width > MaxSide || info.Height > MaxSide || (long)info.Width * info.Height > MaxPixels)
            throw new InvalidDataException($"{path}: image header says {info.Width}x{info.Height} pixels; refusing more than {MaxSide} px a side or {MaxPixels >> 20} Mpx");
        ImageIntegrity.CheckComplete(path, format.Name);
        return (info.Width, info.Height);
    }

    /// <summary>
    /// Decoders fail on corrupt data with many exception types (ImageFormatException, but also
    /// InvalidOperationException, IndexOutOfRangeException, ... from inside the codec); all of them mean
    /// "this file is broken" and are reported with its name. Resource exhaustion is not wrapped.
    /// </summary>
    private static bool IsDecoderFailure(Exception e) =>
        e is not (OutOfMemoryException or InsufficientExecutionStackException or OperationCanceledException or FileNotFoundException or UnauthorizedAccessException);

    /// <summary>Native 16-bit pixels keep their high byte; everything else goes through ImageSharp's
    /// conversion to Rgb24, which replicates grey and drops alpha.</summary>
    private static void CopyRgb(Image image, byte[] dst)
    {
        switch (image)
        {
            case Image<Rgb48> rgb48: HighBytes(rgb48, 3, 3, dst); break;
            case Image<Rgba64> rgba64: HighBytes(rgba64, 4, 3, dst); break;
            case Image<L16> l16: HighBytes(l16, 1, 1, dst); break;
            case Image<La32> la32: HighBytes(la32, 2, 1, dst); break;
            case Image<Rgb24> rgb24: rgb24.CopyPixelDataTo(dst); break;
            default:
                using (var converted = image.CloneAs<Rgb24>()) converted.CopyPixelDataTo(dst);
                break;
        }
    }

    /// <summary>16-bit samples (little-endian ushort in memory) -> their high byte; 1 source channel is
    /// replicated to R, G, B. <paramref name="used"/> of the <paramref name="stride"/> samples are colour.</summary>
    private static void HighBytes<TPixel>(Image<TPixel> image, int stride, int used, byte[] dst)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        var samples = new ushort[checked(image.Width * image.Height * stride)];
        image.CopyPixelDataTo(MemoryMarshal.AsBytes(samples.AsSpan()));
        var n = image.Width * image.Height;
        for (var i = 0; i < n; i++)
            for (var c = 0; c < 3; c++)
                dst[3 * i + c] = (byte)(samples[stride * i + (used == 1 ? 0 : c)] >> 8);
    }

    /// <summary>PIL's RGB -> L: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16.</summary>
    public static Image8 ToGray(Image8 rgb)
    {
        if (rgb.Channels == 1) return rgb;
        var gray = Image8.Create(rgb.Width, rgb.Height, 1, rgb.Source);
        var p = rgb.Pixels;
        for (var i = 0; i < gray.Pixels.Length; i++)
            gray.Pixels[i] = (byte)((p[3 * i] * 19595 + p[3 * i + 1] * 38470 + p[3 * i + 2] * 7471 + 0x8000) >> 16);
        return gray;
    }
}
