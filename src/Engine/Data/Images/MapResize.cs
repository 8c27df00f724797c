namespace BayesPfl.Engine.Data.Images;

/// <summary>
/// Bilinear resize of a single-channel float map (e.g. the 518x518 anomaly map back to the image's own
/// size), with PyTorch's <c>F.interpolate(mode="bilinear", antialias=False)</c> sampling rules so that maps
/// line up with what the Python tooling produces. Not antialiased: meant for up-sampling or mild shrinking.
/// </summary>
public static class MapResize
{
    /// <param name="src">[srcH, srcW] row-major.</param>
    /// <returns>[dstH, dstW] row-major.</returns>
    public static float[] Bilinear(ReadOnlySpan<float> src, int srcH, int srcW, int dstH, int dstW, bool alignCorners = false)
    {
        if (srcH < 1 || srcW < 1 || dstH < 1 || dstW < 1 || src.Length != srcH * srcW)
            throw new ArgumentException($"map resize: source {srcH}x{srcW} ({src.Length} values) -> {dstH}x{dstW} is not a valid request");
        var (y0, y1, wy) = Taps(srcH, dstH, alignCorners);
        var (x0, x1, wx) = Taps(srcW, dstW, alignCorners);
        var dst = new float[dstH * dstW];
        for (var y = 0; y < dstH; y++)
        {
            float h1 = wy[y], h0 = 1f - h1;
            var r0 = y0[y] * srcW;
            var r1 = y1[y] * srcW;
            for (var x = 0; x < dstW; x++)
            {
                float w1 = wx[x], w0 = 1f - w1;
                dst[y * dstW + x] = h0 * (w0 * src[r0 + x0[x]] + w1 * src[r0 + x1[x]]) + h1 * (w0 * src[r1 + x0[x]] + w1 * src[r1 + x1[x]]);
            }
        }
        return dst;
    }

    /// <summary>Per output index: the two source indices and the weight of the second, as PyTorch's CPU kernel
    /// computes them (checked against torch 1.13 weight by weight): the scale is rounded to float32, the
    /// source coordinate is formed in double (half-pixel centres clamped at 0, or corner-aligned), and only
    /// the fractional part is rounded to float32.</summary>
    private static (int[] I0, int[] I1, float[] W1) Taps(int inSize, int outSize, bool alignCorners)
    {
        double scale = alignCorners ? (outSize > 1 ? (float)(inSize - 1) / (outSize - 1) : 0f) : (float)inSize / outSize;
        var i0 = new int[outSize];
        var i1 = new int[outSize];
        var w1 = new float[outSize];
        for (var o = 0; o < outSize; o++)
        {
            var real = alignCorners ? scale * o : Math.Max(scale * (o + 0.5) - 0.5, 0.0);
            i0[o] = Math.Min((int)real, inSize - 1);
            i1[o] = Math.Min(i0[o] + 1, inSize - 1);
            w1[o] = (float)Math.Clamp(real - i0[o], 0.0, 1.0);
        }
        return (i0, i1, w1);
    }
}
