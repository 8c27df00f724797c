using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace BayesPfl.Tests.Infra;

/// <summary>Small PNGs for detector tests: a seeded noise red channel over green/blue ramps, so that images differ and have structure.</summary>
public static class TestImages
{
    /// <summary>Three images of sizes that are neither square nor any model's input size (50x40, 61x47, 33x70).</summary>
    public static string[] WriteThree(string dir) =>
        [Write(dir, "a.png", 50, 40, 1), Write(dir, "b.png", 61, 47, 2), Write(dir, "c.png", 33, 70, 3)];

    public static string Write(string dir, string name, int w, int h, int seed)
    {
        var rng = new Random(seed);
        using var img = new Image<Rgb24>(w, h);
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                img[x, y] = new Rgb24((byte)rng.Next(256), (byte)(x * 255 / w), (byte)(y * 255 / h));
        var path = Path.Combine(dir, name);
        img.SaveAsPng(path);
        return path;
    }
}
