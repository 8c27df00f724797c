namespace BayesPfl.Engine.Weights.Convert;

/// <summary>
/// PyTorch's `interpolate(mode='bicubic', antialias=True, align_corners=False)` on channel-first planes, for up- and
/// down-sampling (spec §3.1). Separable: each output index i has a window of input taps around the centre
/// c = (i + 0.5) * scale (scale = in/out), of half-width 2*scale when down-sampling (the filter is stretched to
/// low-pass) and 2 when up-sampling, clipped to the input and renormalised to sum 1; the tap weight is Keys' cubic
/// with a = -0.5 at (j - c + 0.5) / max(scale, 1). Width is resampled first, then height, as PyTorch's CPU kernel
/// does. Arithmetic is fp32 with PyTorch's float/double promotions; its tap weights still differ from ours by up
/// to ~2.4e-7 (an ulp or a few), so the results agree to about 1e-6 on O(1) values, not bit for bit.
/// </summary>
public static class AntialiasedResize
{
    /// <summary>Resizes C planes of inH x inW (row-major, plane after plane) to outH x outW.</summary>
    public static float[] Bicubic(ReadOnlySpan<float> src, int channels, int inH, int inW, int outH, int outW)
    {
        if (src.Length != (long)channels * inH * inW) throw new ArgumentException($"resize: {src.Length} values are not {channels} x {inH} x {inW}");
        if (inH < 1 || inW < 1 || outH < 1 || outW < 1) throw new ArgumentException($"resize: cannot resize {inH}x{inW} to {outH}x{outW}");
        var (xStart, xWeights) = Taps(inW, outW);
        var (yStart, yWeights) = Taps(inH, outH);
        var rows = new float[channels * inH * outW];
        for (var c = 0; c < channels; c++)
            for (var y = 0; y < inH; y++)
                for (var x = 0; x < outW; x++)
                    rows[(c * inH + y) * outW + x] = Dot(src, (c * inH + y) * inW + xStart[x], 1, xWeights[x]);
        var result = new float[channels * outH * outW];
        for (var c = 0; c < channels; c++)
            for (var y = 0; y < outH; y++)
                for (var x = 0; x < outW; x++)
                    result[(c * outH + y) * outW + x] = Dot(rows, (c * inH + yStart[y]) * outW + x, outW, yWeights[y]);
        return result;
    }

    private static float Dot(ReadOnlySpan<float> src, int at, int step, float[] w)
    {
        var t = src[at] * w[0];
        for (var j = 1; j < w.Length; j++) t += src[at + j * step] * w[j];
        return t;
    }

    /// <summary>For each output index: the first input tap and the normalised weights of its window.</summary>
    private static (int[] Start, float[][] Weights) Taps(int inSize, int outSize)
    {
        // fp32 variables with double literals, as in PyTorch's kernel.
        var scale = (float)inSize / outSize;
        var support = (float)(scale >= 1f ? 2.0 * scale : 2.0);
        var invScale = (float)(scale >= 1f ? 1.0 / scale : 1.0);
        var start = new int[outSize];
        var weights = new float[outSize][];
        for (var i = 0; i < outSize; i++)
        {
            var center = (float)(scale * (i + 0.5));
            var lo = Math.Max((int)(center - support + 0.5), 0);
            var hi = Math.Min((int)(center + support + 0.5), inSize);
            var w = new float[hi - lo];
            var total = 0f;
            for (var j = 0; j < w.Length; j++)
            {
                w[j] = Cubic((float)(((float)(j + lo) - center + 0.5) * invScale));
                total += w[j];
            }
            if (total != 0f)
                for (var j = 0; j < w.Length; j++) w[j] /= total;
            start[i] = lo;
            weights[i] = w;
        }
        return (start, weights);
    }

    /// <summary>Keys' cubic convolution kernel with a = -0.5.</summary>
    private static float Cubic(float xf)
    {
        const double a = -0.5;
        double x = Math.Abs(xf);
        if (x < 1.0) return (float)((((a + 2.0) * x) - (a + 3.0)) * x * x + 1.0);
        if (x < 2.0) return (float)(((((x - 5.0) * x) + 8.0) * x - 4.0) * a);
        return 0f;
    }

    /// <summary>
    /// Resizes a CLIP positional-embedding table [1 + g*g, C] (row 0 = class token, then the grid row-major) to
    /// [1 + n*n, C]: the class row is kept, the grid is resized as a [C, g, g] image.
    /// </summary>
    public static float[] PositionalEmbedding(ReadOnlySpan<float> table, int width, int fromGrid, int toGrid)
    {
        var fromTokens = fromGrid * fromGrid;
        if (table.Length != (long)(fromTokens + 1) * width) throw new ArgumentException($"positional embedding: {table.Length} values are not [{fromTokens + 1},{width}]");
        var result = new float[(toGrid * toGrid + 1) * width];
        table[..width].CopyTo(result);
        if (fromGrid == toGrid)
        {
            table.CopyTo(result);
            return result;
        }
        var planes = new float[width * fromTokens];
        for (var p = 0; p < fromTokens; p++)
            for (var c = 0; c < width; c++) planes[c * fromTokens + p] = table[(1 + p) * width + c];
        var resized = Bicubic(planes, width, fromGrid, fromGrid, toGrid, toGrid);
        var toTokens = toGrid * toGrid;
        for (var p = 0; p < toTokens; p++)
            for (var c = 0; c < width; c++) result[(1 + p) * width + c] = resized[c * toTokens + p];
        return result;
    }
}
