using BayesPfl.Engine.Data.Images;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace BayesPfl.Engine.Reports;

/// <summary>
/// The heatmap picture of one image (issue 6): three panels side by side at the image's own size, W·3 x H:
/// the image | the anomaly map in a jet-like colour scale blended over it | the image with the outline of the
/// region at or above the pixel threshold drawn in red. The map is coloured on its absolute [0,1] scale (values
/// are clamped, not stretched per image), so colours compare across images as the scores do.
/// </summary>
public static class HeatmapOverlay
{
    /// <summary>Weight of the colour map in the middle panel.</summary>
    public const float Blend = 0.5f;

    /// <summary>The outline colour.</summary>
    public static readonly Rgb24 Outline = new(255, 0, 0);

    /// <summary>Builds the triptych; <paramref name="map"/> is [Height, Width] of <paramref name="rgb"/>.</summary>
    public static Image<Rgb24> Render(Image8 rgb, ReadOnlySpan<float> map, double pixelThreshold)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        int w = rgb.Width, h = rgb.Height;
        if (rgb.Channels != 3) throw new ArgumentException($"{rgb.Source}: expected RGB, got {rgb.Channels} channel(s)", nameof(rgb));
        if (map.Length != w * h) throw new ArgumentException($"{rgb.Source}: map has {map.Length} values for a {w}x{h} image", nameof(map));
        var contour = Contour(map, w, h, pixelThreshold, Math.Max(1, Math.Min(w, h) / 150));
        var pixels = new Rgb24[3 * w * h];
        var px = rgb.Pixels;
        for (var y = 0; y < h; y++)
        {
            var row = pixels.AsSpan(3 * w * y, 3 * w);
            for (var x = 0; x < w; x++)
            {
                var i = y * w + x;
                var image = new Rgb24(px[3 * i], px[3 * i + 1], px[3 * i + 2]);
                var jet = Jet(map[i]);
                row[x] = image;
                row[w + x] = new Rgb24(Mix(image.R, jet.R), Mix(image.G, jet.G), Mix(image.B, jet.B));
                row[2 * w + x] = contour[i] ? Outline : image;
            }
        }
        return Image.LoadPixelData<Rgb24>(pixels, 3 * w, h);
    }

    /// <summary>Renders and writes the PNG atomically.</summary>
    public static void Save(string path, Image8 rgb, ReadOnlySpan<float> map, double pixelThreshold)
    {
        using var image = Render(rgb, map, pixelThreshold);
        AtomicFile.Write(path, temp => image.SaveAsPng(temp));
    }

    private static byte Mix(byte a, byte b) => (byte)MathF.Round((1 - Blend) * a + Blend * b);

    /// <summary>A jet-like scale: dark blue (0) → blue → cyan → yellow → red → dark red (1), piecewise linear.</summary>
    public static Rgb24 Jet(float v)
    {
        var t = float.IsNaN(v) ? 0f : Math.Clamp(v, 0f, 1f);
        static byte C(float x) => (byte)MathF.Round(255f * Math.Clamp(x, 0f, 1f));
        return new Rgb24(C(1.5f - MathF.Abs(4f * t - 3f)), C(1.5f - MathF.Abs(4f * t - 2f)), C(1.5f - MathF.Abs(4f * t - 1f)));
    }

    /// <summary>
    /// Pixels at or above the threshold that have a pixel below it (or the image border) within Chebyshev distance
    /// <paramref name="width"/>: the inner band of the region's outline, <paramref name="width"/> pixels thick.
    /// A separable erosion (rows, then columns), O(W·H·width).
    /// </summary>
    public static bool[] Contour(ReadOnlySpan<float> map, int w, int h, double threshold, int width)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "outline width must be at least 1 pixel");
        var r = width;
        // below[i]: outside the region; the border counts as outside, so regions touching it are outlined there.
        var rows = new bool[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                rows[y * w + x] = AnyBelow(map, y * w, 1, x, w, r, threshold, null);
        var band = new bool[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var i = y * w + x;
                band[i] = map[i] >= threshold && AnyBelow(map, x, w, y, h, r, threshold, rows);
            }
        return band;
    }

    /// <summary>Whether along a line (start, stride, n samples) any sample within r of position p is outside the
    /// region (or the line ends within r); with <paramref name="hit"/>, "outside" is hit[sample] instead.</summary>
    private static bool AnyBelow(ReadOnlySpan<float> map, int start, int stride, int p, int n, int r, double threshold, bool[]? hit)
    {
        if (p - r < 0 || p + r >= n) return true;
        for (var q = p - r; q <= p + r; q++)
        {
            var i = start + q * stride;
            if (hit is null ? map[i] < threshold : hit[i]) return true;
        }
        return false;
    }
}
