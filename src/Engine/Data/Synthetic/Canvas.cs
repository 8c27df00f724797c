using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace BayesPfl.Engine.Data.Synthetic;

/// <summary>A square RGB image in floats (0..1, row-major, interleaved) that defects are composited onto.</summary>
internal sealed class Canvas(int size)
{
    public int Size { get; } = size;

    public float[] Pixels { get; } = new float[size * size * 3];

    public (float R, float G, float B) Get(int x, int y)
    {
        var i = (y * Size + x) * 3;
        return (Pixels[i], Pixels[i + 1], Pixels[i + 2]);
    }

    public void Set(int x, int y, (float R, float G, float B) c)
    {
        var i = (y * Size + x) * 3;
        (Pixels[i], Pixels[i + 1], Pixels[i + 2]) = c;
    }

    public Canvas Clone()
    {
        var c = new Canvas(Size);
        Pixels.CopyTo(c.Pixels, 0);
        return c;
    }

    private static readonly PngEncoder Encoder = new() { CompressionLevel = PngCompressionLevel.DefaultCompression };

    public void SavePng(string path)
    {
        using var image = new Image<Rgb24>(Size, Size);
        for (var y = 0; y < Size; y++)
            for (var x = 0; x < Size; x++)
            {
                var (r, g, b) = Get(x, y);
                image[x, y] = new Rgb24(ToByte(r), ToByte(g), ToByte(b));
            }
        image.SaveAsPng(path, Encoder);
    }

    /// <summary>Writes a binary mask as 8-bit grey, 255 = anomalous, as MVTec-AD's ground truth.</summary>
    public static void SaveMask(string path, bool[] mask, int size)
    {
        using var image = new Image<L8>(size, size);
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
                image[x, y] = new L8(mask[y * size + x] ? (byte)255 : (byte)0);
        image.SaveAsPng(path, Encoder);
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)MathF.Round(v * 255f), 0, 255);
}
