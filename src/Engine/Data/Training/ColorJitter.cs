using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Data.Training;

/// <summary>
/// albumentations 1.3.1 ColorJitter on uint8 (its "torchvision" functions): brightness, contrast, saturation and hue
/// factors applied in a random order. The reference runs albumentations on a BGR copy (spec 14.21), so its
/// RGB→grey and RGB→HSV conversions see the channels swapped; <see cref="Apply"/> reproduces that by swapping R
/// and B around the four operations.
/// </summary>
public static class ColorJitter
{
    /// <summary>Factors drawn as albumentations does: brightness, contrast, saturation in [1−x, 1+x], hue in [−x, x]
    /// (x = 0.2 each in spec 9.6), then a shuffled order of the four operations.</summary>
    public static void Apply(Image8 rgb, AugmentRandom rng, double limit = 0.2)
    {
        double brightness = rng.Uniform(1 - limit, 1 + limit), contrast = rng.Uniform(1 - limit, 1 + limit);
        double saturation = rng.Uniform(1 - limit, 1 + limit), hue = rng.Uniform(-limit, limit);
        Span<int> order = [0, 1, 2, 3];
        rng.Shuffle(order);
        SwapRedBlue(rgb);
        foreach (var op in order)
            switch (op)
            {
                case 0: Brightness(rgb, brightness); break;
                case 1: Contrast(rgb, contrast); break;
                case 2: Saturation(rgb, saturation); break;
                default: Hue(rgb, hue); break;
            }
        SwapRedBlue(rgb);
    }

    /// <summary>v' = trunc(clip(v·f, 0, 255)).</summary>
    public static void Brightness(Image8 rgb, double factor)
    {
        Span<byte> lut = stackalloc byte[256];
        for (var i = 0; i < 256; i++) lut[i] = (byte)Math.Clamp(i * factor, 0, 255);
        Photometric.Apply(rgb.Pixels, lut);
    }

    /// <summary>v' = trunc(clip(v·f + m·(1 − f), 0, 255)), m the mean of OpenCV's 8-bit grey image.</summary>
    public static void Contrast(Image8 rgb, double factor)
    {
        var p = rgb.Pixels;
        long total = 0;
        for (var i = 0; i < p.Length; i += 3) total += Gray(p[i], p[i + 1], p[i + 2]);
        var mean = (double)total / (p.Length / 3);
        Span<byte> lut = stackalloc byte[256];
        for (var i = 0; i < 256; i++) lut[i] = (byte)Math.Clamp(i * factor + mean * (1 - factor), 0, 255);
        Photometric.Apply(p, lut);
    }

    /// <summary>cv2.addWeighted(img, f, grey, 1 − f, 0): float32, rounded to nearest even, saturated.</summary>
    public static void Saturation(Image8 rgb, double factor)
    {
        var p = rgb.Pixels;
        float a = (float)factor, b = (float)(1 - factor);
        for (var i = 0; i < p.Length; i += 3)
        {
            var g = Gray(p[i], p[i + 1], p[i + 2]) * b;
            for (var c = 0; c < 3; c++) p[i + c] = (byte)Math.Clamp(MathF.Round(p[i + c] * a + g), 0f, 255f);
        }
    }

    /// <summary>OpenCV 8-bit HSV (H in 0..179), H' = trunc((H + 180·f) mod 180), back to RGB.</summary>
    public static void Hue(Image8 rgb, double factor)
    {
        Span<byte> lut = stackalloc byte[256];
        for (var i = 0; i < 256; i++) lut[i] = (byte)(((i + 180 * factor) % 180 + 180) % 180);
        var p = rgb.Pixels;
        for (var i = 0; i < p.Length; i += 3)
        {
            var (h, s, v) = ToHsv(p[i], p[i + 1], p[i + 2]);
            (p[i], p[i + 1], p[i + 2]) = FromHsv(lut[h], s, v);
        }
    }

    /// <summary>cv2 RGB2GRAY on 8 bits: (R·4899 + G·9617 + B·1868 + 2^13) >> 14.</summary>
    private static int Gray(byte r, byte g, byte b) => (r * 4899 + g * 9617 + b * 1868 + (1 << 13)) >> 14;

    private const int HsvShift = 12;

    // OpenCV's division tables: sdiv[v] = round(255·2^12 / v), hdiv[d] = round(180·2^12 / (6 d)), 0 at 0.
    private static readonly int[] SatDiv = [.. Enumerable.Range(0, 256).Select(v => v == 0 ? 0 : (int)Math.Round((255 << HsvShift) / (double)v))];
    private static readonly int[] HueDiv = [.. Enumerable.Range(0, 256).Select(d => d == 0 ? 0 : (int)Math.Round((180 << HsvShift) / (6.0 * d)))];

    /// <summary>cv2 RGB2HSV for 8 bits, with its fixed-point division tables.</summary>
    private static (int H, byte S, byte V) ToHsv(int r, int g, int b)
    {
        int v = Math.Max(r, Math.Max(g, b)), diff = v - Math.Min(r, Math.Min(g, b));
        var s = (diff * SatDiv[v] + (1 << (HsvShift - 1))) >> HsvShift;
        var h = v == r ? g - b : v == g ? b - r + 2 * diff : r - g + 4 * diff;
        h = (h * HueDiv[diff] + (1 << (HsvShift - 1))) >> HsvShift;
        if (h < 0) h += 180;
        return (h, (byte)s, (byte)v);
    }

    /// <summary>cv2 HSV2RGB for 8 bits: float sector formula, rounded and saturated.</summary>
    private static (byte R, byte G, byte B) FromHsv(int hue, byte sat, byte val)
    {
        float h = hue * (6f / 180f), s = sat * (1f / 255f), v = val * (1f / 255f);
        float r = v, g = v, b = v;
        if (s != 0)
        {
            while (h >= 6) h -= 6;
            var sector = (int)MathF.Floor(h);
            h -= sector;
            float p = v * (1 - s), q = v * (1 - s * h), t = v * (1 - s * (1 - h));
            (r, g, b) = sector switch
            {
                0 => (v, t, p),
                1 => (q, v, p),
                2 => (p, v, t),
                3 => (p, q, v),
                4 => (t, p, v),
                _ => (v, p, q),
            };
        }
        return (ToByte(r), ToByte(g), ToByte(b));
    }

    private static byte ToByte(float unit) => (byte)Math.Clamp(MathF.Round(unit * 255f), 0f, 255f);

    private static void SwapRedBlue(Image8 rgb)
    {
        var p = rgb.Pixels;
        for (var i = 0; i < p.Length; i += 3) (p[i], p[i + 2]) = (p[i + 2], p[i]);
    }
}
