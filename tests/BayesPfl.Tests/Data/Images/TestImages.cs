using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace BayesPfl.Tests.Data.Images;

/// <summary>Synthetic test images: smooth gradients with blocks of noise and hard edges, so that both the
/// smooth part of the cubic kernel and its over/undershoot clamping are exercised.</summary>
internal static class TestImages
{
    public static byte Value(int x, int y, int c, int w, int h, Random rng)
    {
        var gradient = (x * 255 / Math.Max(w - 1, 1) + y * 255 / Math.Max(h - 1, 1) + 85 * c) % 256;
        var noisy = (x / 5 + y / 3) % 4 == 0;
        var edge = (x / 9 + y / 9) % 2 == 0 ? 0 : 255;
        return (byte)(noisy ? rng.Next(256) : (x + y) % 17 == 0 ? edge : gradient);
    }

    /// <summary>Photo-like content: slow gradients and waves, no pixel noise.</summary>
    private static byte Smooth(int x, int y, int c) =>
        (byte)Math.Clamp(128 + 60 * Math.Sin(x / (11.0 + 3 * c)) + 50 * Math.Cos(y / (17.0 - 2 * c)) + (x - y) / 8.0, 0, 255);

    public static string Save(string dir, string name, int w, int h, string kind, int seed = 1)
    {
        var rng = new Random(seed);
        var path = Path.Combine(dir, name);
        switch (kind)
        {
            case "rgb": Make<Rgb24>(w, h, (x, y) => new Rgb24(Value(x, y, 0, w, h, rng), Value(x, y, 1, w, h, rng), Value(x, y, 2, w, h, rng)), path); break;
            case "gray": Make<L8>(w, h, (x, y) => new L8(Value(x, y, 0, w, h, rng)), path); break;
            case "rgba": Make<Rgba32>(w, h, (x, y) => new Rgba32(Value(x, y, 0, w, h, rng), Value(x, y, 1, w, h, rng), Value(x, y, 2, w, h, rng), (byte)rng.Next(256)), path); break;
            case "rgb16": Make<Rgb48>(w, h, (x, y) => new Rgb48((ushort)rng.Next(65536), (ushort)(Value(x, y, 1, w, h, rng) * 257), (ushort)rng.Next(65536)), path); break;
            case "smooth": Make<Rgb24>(w, h, (x, y) => new Rgb24(Smooth(x, y, 0), Smooth(x, y, 1), Smooth(x, y, 2)), path); break;
            case "mask": Make<L8>(w, h, (x, y) => new L8((x - w / 2) * (x - w / 2) + (y - h / 3) * (y - h / 3) < w * h / 9 || rng.Next(40) == 0 ? (byte)255 : (byte)0), path); break;
            default: throw new ArgumentException($"unknown test image kind '{kind}'");
        }
        return path;
    }

    private static void Make<TPixel>(int w, int h, Func<int, int, TPixel> pixel, string path)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        using var image = new Image<TPixel>(w, h);
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                image[x, y] = pixel(x, y);
        // "*_444.jpg": no chroma subsampling; other JPEGs get ImageSharp's default 4:2:0 at quality 90.
        if (path.EndsWith("_444.jpg", StringComparison.Ordinal)) image.Save(path, new JpegEncoder { Quality = 90, ColorType = JpegColorType.YCbCrRatio444 });
        else if (path.EndsWith(".jpg", StringComparison.Ordinal)) image.Save(path, new JpegEncoder { Quality = 90, ColorType = JpegColorType.YCbCrRatio420 });
        else image.Save(path);
    }
}
