using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Data.Training;

/// <summary>
/// The geometric augmentations of spec 9.6, applied alike to the image and its mask: albumentations' Rotate
/// (OpenCV warpAffine about the pixel-centre (W/2 − 0.5, H/2 − 0.5), BORDER_REFLECT_101 for both) and
/// RandomRotate90 (numpy rot90, counter-clockwise). Works for any channel count the <see cref="Image8"/> holds.
/// </summary>
public static class Geometric
{
    // OpenCV's warpAffine fixed point: coordinates in 1/1024 px (AB_BITS), bilinear taps on a 1/32 px grid
    // (INTER_BITS); its 15-bit weight table then holds exactly 32·(32−fx)(32−fy) etc., so the integer sums
    // below (weights summing to 1024) round like OpenCV's.
    private const int AbBits = 10, InterBits = 5, InterSize = 1 << InterBits;

    /// <summary>
    /// Rotation by <paramref name="degrees"/> counter-clockwise (OpenCV's sign) about the image centre, same size
    /// out, restating cv2.warpAffine(getRotationMatrix2D(centre, degrees, 1)): the matrix is inverted as OpenCV
    /// does, source coordinates are formed in its 1/1024 px fixed point and rounded to its 1/32 grid, and the
    /// bilinear weights are its integer table. Nearest (masks) rounds the coordinate half up, as INTER_NEAREST
    /// does, so 0/255 masks stay 0/255. (No OpenCV here to compare bytes against; the arithmetic follows its
    /// source, imgwarp.cpp.)
    /// </summary>
    public static Image8 Rotate(Image8 src, double degrees, bool nearest)
    {
        int w = src.Width, h = src.Height, ch = src.Channels;
        var dst = Image8.Create(w, h, ch, src.Source);
        var m = InverseRotation(degrees, w / 2.0 - 0.5, h / 2.0 - 0.5);
        var shift = nearest ? AbBits : AbBits - InterBits;
        var roundDelta = nearest ? 1 << (AbBits - 1) : 1 << (AbBits - InterBits - 1);
        var adelta = new int[w];
        var bdelta = new int[w];
        for (var x = 0; x < w; x++) (adelta[x], bdelta[x]) = (Fixed(m[0] * x), Fixed(m[3] * x));
        var xs = BorderTable(w);
        var ys = BorderTable(h);
        var s = src.Pixels;
        var d = dst.Pixels;
        for (var y = 0; y < h; y++)
        {
            int x0 = Fixed(m[1] * y + m[2]) + roundDelta, y0 = Fixed(m[4] * y + m[5]) + roundDelta;
            for (var x = 0; x < w; x++)
            {
                int fx = (x0 + adelta[x]) >> shift, fy = (y0 + bdelta[x]) >> shift;
                var o = (y * w + x) * ch;
                if (nearest)
                {
                    var i = (ys.At(fy) * w + xs.At(fx)) * ch;
                    for (var c = 0; c < ch; c++) d[o + c] = s[i + c];
                    continue;
                }
                int ax = fx & (InterSize - 1), ay = fy & (InterSize - 1), sx = fx >> InterBits, sy = fy >> InterBits;
                int w00 = (InterSize - ax) * (InterSize - ay), w01 = ax * (InterSize - ay), w10 = (InterSize - ax) * ay, w11 = ax * ay;
                int r0 = ys.At(sy) * w, r1 = ys.At(sy + 1) * w, c0 = xs.At(sx), c1 = xs.At(sx + 1);
                for (var c = 0; c < ch; c++)
                {
                    var sum = w00 * s[(r0 + c0) * ch + c] + w01 * s[(r0 + c1) * ch + c] + w10 * s[(r1 + c0) * ch + c] + w11 * s[(r1 + c1) * ch + c];
                    d[o + c] = (byte)((sum + (1 << (2 * InterBits - 1))) >> (2 * InterBits));
                }
            }
        }
        return dst;
    }

    /// <summary>cv2.getRotationMatrix2D then cv2.invertAffineTransform, in OpenCV's order of operations.</summary>
    private static double[] InverseRotation(double degrees, double cx, double cy)
    {
        var rad = degrees * Math.PI / 180;
        double a = Math.Cos(rad), b = Math.Sin(rad);
        double m00 = a, m01 = b, m02 = (1 - a) * cx - b * cy, m10 = -b, m11 = a, m12 = b * cx + (1 - a) * cy;
        var det = m00 * m11 - m01 * m10;
        det = det != 0 ? 1.0 / det : 0;
        double i00 = m11 * det, i11 = m00 * det, i01 = -m01 * det, i10 = -m10 * det;
        return [i00, i01, -i00 * m02 - i01 * m12, i10, i11, -i10 * m02 - i11 * m12];
    }

    /// <summary>saturate_cast&lt;int&gt;(v · 1024): round half to even, as cvRound.</summary>
    private static int Fixed(double v) => (int)Math.Clamp(Math.Round(v * (1 << AbBits)), int.MinValue, int.MaxValue);

    /// <summary>Reflect-101 indices for coordinates −pad..n+pad, precomputed once per image side; farther ones
    /// (only under extreme rotations of very thin images) fall back to the loop.</summary>
    internal readonly struct BorderIndex(int[] table, int n, int pad)
    {
        public int At(int i) => (uint)(i + pad) < (uint)table.Length ? table[i + pad] : Reflect101(i, n);
    }

    internal static BorderIndex BorderTable(int n)
    {
        var pad = n + 2;
        var table = new int[n + 2 * pad];
        for (var i = 0; i < table.Length; i++) table[i] = Reflect101(i - pad, n);
        return new BorderIndex(table, n, pad);
    }

    /// <summary>numpy's rot90(img, k): k quarter turns counter-clockwise; odd k swaps width and height.</summary>
    public static Image8 Rotate90(Image8 src, int k)
    {
        k = ((k % 4) + 4) % 4;
        if (k == 0) return src;
        int w = src.Width, h = src.Height, ch = src.Channels;
        int ow = k == 2 ? w : h, oh = k == 2 ? h : w;
        var dst = Image8.Create(ow, oh, ch, src.Source);
        for (var y = 0; y < oh; y++)
            for (var x = 0; x < ow; x++)
            {
                var (sx, sy) = k switch
                {
                    1 => (w - 1 - y, x),
                    2 => (w - 1 - x, h - 1 - y),
                    _ => (y, h - 1 - x),
                };
                Array.Copy(src.Pixels, (sy * w + sx) * ch, dst.Pixels, (y * ow + x) * ch, ch);
            }
        return dst;
    }

    /// <summary>OpenCV's BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba): the edge pixel is not repeated.</summary>
    public static int Reflect101(int i, int n)
    {
        if (n == 1) return 0;
        while ((uint)i >= (uint)n) i = i < 0 ? -i : 2 * n - 2 - i;
        return i;
    }
}
