using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Data.Training;

/// <summary>
/// The pixel-value augmentations of spec 9.6 on 8-bit images, with albumentations 1.3.1's uint8 arithmetic
/// (float look-up tables truncated to uint8, noise added in float and truncated) and OpenCV's filters with
/// BORDER_REFLECT_101. Images only; masks are not touched by these.
/// </summary>
public static class Photometric
{
    /// <summary>
    /// RandomBrightnessContrast with brightness_by_max: v' = trunc(clip(v·α + β·255, 0, 255)), built as
    /// albumentations' float32 look-up table (α = 1 + contrast draw, β = brightness draw).
    /// </summary>
    public static void BrightnessContrast(Image8 image, double alpha, double beta)
    {
        Span<byte> lut = stackalloc byte[256];
        var a = (float)alpha;
        var b = (float)(beta * 255);
        for (var i = 0; i < 256; i++) lut[i] = (byte)Math.Clamp(i * a + b, 0f, 255f);
        Apply(image.Pixels, lut);
    }

    /// <summary>GaussNoise, per channel: v' = trunc(clip(v + N(0, σ²), 0, 255)), one normal per byte in pixel order.</summary>
    public static void GaussNoise(Image8 image, double sigma, AugmentRandom rng)
    {
        var p = image.Pixels;
        for (var i = 0; i < p.Length; i++) p[i] = (byte)Math.Clamp(p[i] + sigma * rng.Normal(), 0, 255);
    }

    /// <summary>cv2.blur: k x k box mean, rounded to nearest.</summary>
    public static Image8 BoxBlur(Image8 image, int k)
    {
        var taps = new int[k];
        Array.Fill(taps, 1);
        return Separable(image, taps);
    }

    /// <summary>
    /// cv2.GaussianBlur with sigma 0 and k ≤ 7, which OpenCV serves from its fixed binomial-like table
    /// (k 3: [1 2 1]/4, 5: [1 4 6 4 1]/16, 7: [2 7 14 18 14 7 2]/64) and computes exactly, rounding half up.
    /// </summary>
    public static Image8 GaussianBlur(Image8 image, int k) => Separable(image, k switch
    {
        1 => [1],
        3 => [1, 2, 1],
        5 => [1, 4, 6, 4, 1],
        7 => [2, 7, 14, 18, 14, 7, 2],
        _ => throw new ArgumentOutOfRangeException(nameof(k), k, "Gaussian blur kernel must be 1, 3, 5 or 7 (OpenCV's fixed table)"),
    });

    /// <summary>Integer separable filter (horizontal then vertical, exact sums), divided by the squared tap sum,
    /// rounded half up.</summary>
    private static Image8 Separable(Image8 image, int[] taps)
    {
        int w = image.Width, h = image.Height, ch = image.Channels, r = taps.Length / 2;
        var sum = taps.Sum();
        long den = (long)sum * sum;
        var rows = new int[w * h * ch];
        var s = image.Pixels;
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                for (var c = 0; c < ch; c++)
                {
                    var acc = 0;
                    for (var t = 0; t < taps.Length; t++) acc += taps[t] * s[(y * w + Geometric.Reflect101(x + t - r, w)) * ch + c];
                    rows[(y * w + x) * ch + c] = acc;
                }
        var dst = Image8.Create(w, h, ch, image.Source);
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                for (var c = 0; c < ch; c++)
                {
                    long acc = 0;
                    for (var t = 0; t < taps.Length; t++) acc += taps[t] * rows[(Geometric.Reflect101(y + t - r, h) * w + x) * ch + c];
                    dst.Pixels[(y * w + x) * ch + c] = (byte)((acc + den / 2) / den);
                }
        return dst;
    }

    internal static void Apply(byte[] pixels, ReadOnlySpan<byte> lut)
    {
        for (var i = 0; i < pixels.Length; i++) pixels[i] = lut[pixels[i]];
    }
}
