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

    /// <summary>
    /// GaussNoise, per channel: v' = trunc(clip(v + σ·z, 0, 255)), one standard normal z per byte in pixel order.
    /// Each 64-bit draw gives four z by inverse-CDF look-up (<see cref="NormalQuantiles"/>, 2^16 equal-probability
    /// cells, |z| ≤ 4.3): at MVTec's 1024² x 3 bytes, Box–Muller's logarithms and sines were most of this
    /// augmentation's cost, and noise that ends up truncated to bytes needs no finer normal than this.
    /// </summary>
    public static void GaussNoise(Image8 image, double sigma, AugmentRandom rng)
    {
        var table = NormalQuantiles.Value;
        var p = image.Pixels;
        var s = (float)sigma;
        for (var i = 0; i < p.Length; i += 4)
        {
            var bits = rng.NextBits();
            for (var k = 0; k < 4 && i + k < p.Length; k++, bits >>= 16)
                p[i + k] = (byte)Math.Clamp(p[i + k] + s * table[(int)(bits & 0xFFFF)], 0f, 255f);
        }
    }

    /// <summary>The standard normal's quantiles at the cell midpoints (i + ½) / 2^16, by Acklam's rational
    /// approximation (relative error below 1.2e-9).</summary>
    public static readonly Lazy<float[]> NormalQuantiles = new(() =>
        [.. Enumerable.Range(0, 1 << 16).Select(i => (float)InverseNormal((i + 0.5) / (1 << 16)))]);

    private static double InverseNormal(double p)
    {
        ReadOnlySpan<double> a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        ReadOnlySpan<double> b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        ReadOnlySpan<double> c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        ReadOnlySpan<double> d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double Low = 0.02425;
        if (p > 1 - Low) return -InverseNormal(1 - p);
        if (p < Low)
        {
            var q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        var m = p - 0.5;
        var r = m * m;
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * m / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
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
        int w = image.Width, h = image.Height, ch = image.Channels, r = taps.Length / 2, row = w * ch;
        var sum = taps.Sum();
        var den = sum * sum; // ≤ 64² · 255 after both passes: fits an int
        var xs = Geometric.BorderTable(w);
        var ys = Geometric.BorderTable(h);
        var rows = new int[h * row];
        var padded = new int[(w + 2 * r) * ch];
        var s = image.Pixels;
        for (var y = 0; y < h; y++)
        {
            // The row with its reflect-101 border, so that the tap loop needs no index checks.
            for (var x = 0; x < w + 2 * r; x++)
                for (var c = 0; c < ch; c++) padded[x * ch + c] = s[(y * w + xs.At(x - r)) * ch + c];
            for (var i = 0; i < row; i++)
            {
                var acc = 0;
                for (var t = 0; t < taps.Length; t++) acc += taps[t] * padded[i + t * ch];
                rows[y * row + i] = acc;
            }
        }
        var dst = Image8.Create(w, h, ch, image.Source);
        var column = new int[row];
        for (var y = 0; y < h; y++)
        {
            Array.Clear(column);
            for (var t = 0; t < taps.Length; t++)
            {
                var from = rows.AsSpan(ys.At(y + t - r) * row, row);
                for (var i = 0; i < row; i++) column[i] += taps[t] * from[i];
            }
            for (var i = 0; i < row; i++) dst.Pixels[y * row + i] = (byte)((column[i] + den / 2) / den);
        }
        return dst;
    }

    internal static void Apply(byte[] pixels, ReadOnlySpan<byte> lut)
    {
        for (var i = 0; i < pixels.Length; i++) pixels[i] = lut[pixels[i]];
    }
}
