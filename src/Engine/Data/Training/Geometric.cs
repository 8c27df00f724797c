using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Data.Training;

/// <summary>
/// The geometric augmentations of spec 9.6, applied alike to the image and its mask: albumentations' Rotate
/// (OpenCV warpAffine about the pixel-centre (W/2 − 0.5, H/2 − 0.5), BORDER_REFLECT_101 for both) and
/// RandomRotate90 (numpy rot90, counter-clockwise). Works for any channel count the <see cref="Image8"/> holds.
/// </summary>
public static class Geometric
{
    /// <summary>OpenCV's sub-pixel grid for remapping (INTER_BITS = 5): source coordinates are rounded to 1/32 px.</summary>
    private const double SubPixel = 32;

    /// <summary>
    /// Rotation by <paramref name="degrees"/> counter-clockwise (OpenCV's sign) about the image centre, same size out.
    /// Bilinear: the inverse-mapped source coordinate is rounded to OpenCV's 1/32 grid and the four taps are
    /// weighted in double and rounded to nearest (OpenCV uses a 15-bit integer table, so a value can differ from
    /// it by one grey level; no OpenCV here to compare against). Nearest (masks): the coordinate rounds half up,
    /// as warpAffine's INTER_NEAREST does, so 0/255 masks stay 0/255.
    /// </summary>
    public static Image8 Rotate(Image8 src, double degrees, bool nearest)
    {
        int w = src.Width, h = src.Height, ch = src.Channels;
        var dst = Image8.Create(w, h, ch, src.Source);
        var rad = degrees * Math.PI / 180;
        double a = Math.Cos(rad), b = Math.Sin(rad), cx = w / 2.0 - 0.5, cy = h / 2.0 - 0.5;
        var s = src.Pixels;
        var d = dst.Pixels;
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                // Inverse of getRotationMatrix2D(centre, degrees, 1): the source point that lands on (x, y).
                var sx = a * (x - cx) - b * (y - cy) + cx;
                var sy = b * (x - cx) + a * (y - cy) + cy;
                var o = (y * w + x) * ch;
                if (nearest)
                {
                    var i = (Reflect101((int)Math.Floor(sy + 0.5), h) * w + Reflect101((int)Math.Floor(sx + 0.5), w)) * ch;
                    for (var c = 0; c < ch; c++) d[o + c] = s[i + c];
                    continue;
                }
                var qx = Math.Round(sx * SubPixel) / SubPixel;
                var qy = Math.Round(sy * SubPixel) / SubPixel;
                int x0 = (int)Math.Floor(qx), y0 = (int)Math.Floor(qy);
                double fx = qx - x0, fy = qy - y0;
                int xa = Reflect101(x0, w), xb = Reflect101(x0 + 1, w), ya = Reflect101(y0, h) * w, yb = Reflect101(y0 + 1, h) * w;
                for (var c = 0; c < ch; c++)
                {
                    var top = (1 - fx) * s[(ya + xa) * ch + c] + fx * s[(ya + xb) * ch + c];
                    var bottom = (1 - fx) * s[(yb + xa) * ch + c] + fx * s[(yb + xb) * ch + c];
                    d[o + c] = (byte)Math.Clamp(Math.Round((1 - fy) * top + fy * bottom), 0, 255);
                }
            }
        return dst;
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
