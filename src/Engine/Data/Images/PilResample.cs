namespace BayesPfl.Engine.Data.Images;

/// <summary>The PIL resampling filters the pipeline needs.</summary>
public enum PilFilter
{
    /// <summary>Triangle, support 1 (Image.BILINEAR; torchvision's default for PIL inputs, used on masks).</summary>
    Bilinear,

    /// <summary>Keys cubic convolution with a = -0.5, support 2 (Image.BICUBIC; the image path).</summary>
    Bicubic,
}

/// <summary>
/// Bit-exact restatement of PIL's 8-bit <c>Image.resize</c> (Pillow's Resample.c, spec §2): a separable
/// convolution, horizontal pass first (only over the source rows the vertical pass will read), then
/// vertical. Antialiased: when shrinking, the filter is stretched by in/out, so every source pixel counts.
/// Per output pixel the window is clipped at the borders and the weights renormalised, then rounded to
/// fixed point with 22 fractional bits; each pass adds 0.5 (rounding), accumulates in int32 and clamps to
/// [0,255]. All double arithmetic is written in PIL's order so that the integer weights come out the same.
/// </summary>
public static class PilResample
{
    private const int PrecisionBits = 32 - 8 - 2;

    public static Image8 Resize(Image8 src, int width, int height, PilFilter filter)
    {
        ArgumentNullException.ThrowIfNull(src);
        if (width < 1 || height < 1) throw new ArgumentException($"{src.Source}: cannot resize to {width}x{height}");
        if (width == src.Width && height == src.Height) return src.Clone();

        var horiz = Coefficients.Compute(src.Width, width, filter);
        var vert = Coefficients.Compute(src.Height, height, filter);
        var current = src;
        var rowOffset = 0;
        if (width != src.Width)
        {
            // Only the source rows that the vertical pass reads go through the horizontal pass.
            rowOffset = vert.Start[0];
            var lastRow = vert.Start[height - 1] + vert.Count[height - 1];
            current = Horizontal(src, rowOffset, lastRow - rowOffset, horiz);
            if (height == src.Height) return current;
        }
        return Vertical(current, rowOffset, height, vert);
    }

    private static Image8 Horizontal(Image8 src, int rowOffset, int rows, Coefficients k)
    {
        var c = src.Channels;
        var dst = Image8.Create(k.OutSize, rows, c, src.Source);
        Parallel.For(0, rows, y =>
        {
            var inRow = src.Pixels.AsSpan((y + rowOffset) * src.Width * c, src.Width * c);
            var outRow = dst.Pixels.AsSpan(y * k.OutSize * c, k.OutSize * c);
            for (var x = 0; x < k.OutSize; x++)
            {
                var w = k.Weights.AsSpan(x * k.KernelSize, k.Count[x]);
                var window = inRow.Slice(k.Start[x] * c, w.Length * c);
                if (c == 3)
                {
                    // RGB, the hot path: the three channels share the taps.
                    int r = 1 << (PrecisionBits - 1), g = r, b = r;
                    for (var i = 0; i < w.Length; i++)
                    {
                        var wi = w[i];
                        r += window[3 * i] * wi;
                        g += window[3 * i + 1] * wi;
                        b += window[3 * i + 2] * wi;
                    }
                    outRow[3 * x] = Clip8(r);
                    outRow[3 * x + 1] = Clip8(g);
                    outRow[3 * x + 2] = Clip8(b);
                    continue;
                }
                var acc = 1 << (PrecisionBits - 1);
                for (var i = 0; i < w.Length; i++) acc += window[i] * w[i];
                outRow[x] = Clip8(acc);
            }
        });
        return dst;
    }

    /// <summary>Accumulates whole rows tap by tap (sequential memory access); per output value the sum runs
    /// over the taps in the same order as PIL's, and integer sums are exact anyway.</summary>
    private static Image8 Vertical(Image8 src, int rowOffset, int height, Coefficients k)
    {
        var rowLen = src.Width * src.Channels;
        var dst = Image8.Create(src.Width, height, src.Channels, src.Source);
        Parallel.For(0, height, () => new int[rowLen], (y, _, acc) =>
        {
            acc.AsSpan().Fill(1 << (PrecisionBits - 1));
            var w = k.Weights.AsSpan(y * k.KernelSize, k.Count[y]);
            for (var i = 0; i < w.Length; i++)
            {
                var row = src.Pixels.AsSpan((k.Start[y] - rowOffset + i) * rowLen, rowLen);
                var wi = w[i];
                for (var j = 0; j < row.Length; j++) acc[j] += row[j] * wi;
            }
            var outRow = dst.Pixels.AsSpan(y * rowLen, rowLen);
            for (var j = 0; j < outRow.Length; j++) outRow[j] = Clip8(acc[j]);
            return acc;
        }, _ => { });
        return dst;
    }

    private static byte Clip8(int acc) =>
        acc >= 255 << PrecisionBits ? (byte)255 : acc <= 0 ? (byte)0 : (byte)(acc >> PrecisionBits);

    /// <summary>Per output index: first source index, window length, and fixed-point weights.</summary>
    private sealed record Coefficients(int OutSize, int KernelSize, int[] Start, int[] Count, int[] Weights)
    {
        public static Coefficients Compute(int inSize, int outSize, PilFilter filter)
        {
            var (support0, f) = filter switch
            {
                PilFilter.Bilinear => (1.0, (Func<double, double>)Triangle),
                PilFilter.Bicubic => (2.0, Cubic),
                _ => throw new ArgumentOutOfRangeException(nameof(filter)),
            };
            var scale = (double)inSize / outSize;
            var filterScale = Math.Max(scale, 1.0);
            var support = support0 * filterScale;
            var ksize = (int)Math.Ceiling(support) * 2 + 1;
            var start = new int[outSize];
            var count = new int[outSize];
            var weights = new int[outSize * ksize];
            var w = new double[ksize];
            var ss = 1.0 / filterScale;
            for (var xx = 0; xx < outSize; xx++)
            {
                var center = (xx + 0.5) * scale;
                var xmin = Math.Max((int)(center - support + 0.5), 0);
                var xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
                double sum = 0;
                for (var x = 0; x < xmax; x++)
                {
                    w[x] = f((x + xmin - center + 0.5) * ss);
                    sum += w[x];
                }
                for (var x = 0; x < xmax; x++)
                {
                    var v = sum != 0.0 ? w[x] / sum : w[x];
                    // PIL rounds half away from zero, then truncates toward zero.
                    weights[xx * ksize + x] = v < 0 ? (int)(-0.5 + v * (1 << PrecisionBits)) : (int)(0.5 + v * (1 << PrecisionBits));
                }
                start[xx] = xmin;
                count[xx] = xmax;
            }
            return new Coefficients(outSize, ksize, start, count, weights);
        }

        private static double Triangle(double x)
        {
            x = Math.Abs(x);
            return x < 1.0 ? 1.0 - x : 0.0;
        }

        private static double Cubic(double x)
        {
            const double a = -0.5;
            x = Math.Abs(x);
            if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
            return 0.0;
        }
    }
}
