using System.Numerics;

namespace BayesPfl.Engine.Metrics;

/// <summary>
/// 2-D Gaussian smoothing of anomaly maps as scipy.ndimage.gaussian_filter(map, sigma, truncate=4.0,
/// mode='reflect') computes it (spec §8: sigma 8 → radius 32, 65 taps). Separable: rows axis (vertical) first,
/// then columns, as scipy orders the axes. Arithmetic mirrors scipy's correlate1d so that results agree to
/// the last float bit or so: float64 taps exp(−x²/2σ²) normalised by their sum, float64 accumulation starting
/// from the centre tap and adding the symmetric pairs (x[−j] + x[+j])·w_j from the outermost inwards, no fused
/// multiply-add, and the intermediate image rounded to float32 between the two passes (scipy stores it in the
/// float32 output array). Boundary 'reflect' = half-sample symmetric (d c b a | a b c d | d c b a), repeated
/// for maps narrower than the radius. Vectorised across the row with <see cref="Vector{T}"/> of double and
/// parallel over rows.
/// </summary>
public static class GaussianBlur
{
    public const double PaperSigma = 8;
    public const double DefaultTruncate = 4.0;

    /// <summary>scipy's _gaussian_kernel1d half: w[0] is the centre, w[j] the weight at distance j.</summary>
    public static double[] HalfKernel(double sigma, double truncate = DefaultTruncate)
    {
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "must be positive");
        var radius = (int)(truncate * sigma + 0.5);
        var full = new double[2 * radius + 1];
        double sum = 0;
        for (var x = -radius; x <= radius; x++) sum += full[x + radius] = Math.Exp(-0.5 / (sigma * sigma) * x * x);
        var half = new double[radius + 1];
        for (var j = 0; j <= radius; j++) half[j] = full[radius + j] / sum;
        return half;
    }

    /// <summary>Blurs one height x width map from src into dst (they may be the same array).</summary>
    public static void Apply(float[] src, float[] dst, int height, int width, double sigma = PaperSigma, double truncate = DefaultTruncate, int threads = 0)
    {
        if (src.Length != (long)height * width || dst.Length != src.Length)
            throw new ArgumentException($"src {src.Length} / dst {dst.Length} values for a {height}x{width} map", nameof(src));
        var w = HalfKernel(sigma, truncate);
        var mid = new float[src.Length];
        var par = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.For(0, height, par, () => new double[width], (y, _, acc) => { Vertical(src, mid, y, height, width, w, acc); return acc; }, _ => { });
        Parallel.For(0, height, par, () => new double[width + 2 * (w.Length - 1)], (y, _, line) =>
        {
            Horizontal(mid.AsSpan(y * width, width), dst.AsSpan(y * width, width), w, line);
            return line;
        }, _ => { });
    }

    /// <summary>Blurs many maps (each height x width) into new arrays, in parallel over maps.</summary>
    public static float[][] Apply(IReadOnlyList<float[]> maps, int height, int width, double sigma = PaperSigma, double truncate = DefaultTruncate)
    {
        var result = new float[maps.Count][];
        Parallel.For(0, maps.Count, i =>
        {
            result[i] = new float[maps[i].Length];
            Apply(maps[i], result[i], height, width, sigma, truncate, threads: 1);
        });
        return result;
    }

    /// <summary>Index of the reflected sample for a position outside 0..n-1 (period 2n).</summary>
    public static int Reflect(int i, int n)
    {
        var period = 2 * n;
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - 1 - i;
    }

    private static void Vertical(float[] src, float[] mid, int y, int height, int width, double[] w, double[] acc)
    {
        var centre = src.AsSpan(y * width, width);
        for (var x = 0; x < width; x++) acc[x] = centre[x] * w[0];
        for (var j = w.Length - 1; j >= 1; j--)
        {
            var up = src.AsSpan(Reflect(y - j, height) * width, width);
            var down = src.AsSpan(Reflect(y + j, height) * width, width);
            var wj = w[j];
            int x = 0, nf = Vector<float>.Count, nd = Vector<double>.Count;
            for (; x + nf <= width; x += nf)
            {
                Vector.Widen(new Vector<float>(up[x..]), out var u0, out var u1);
                Vector.Widen(new Vector<float>(down[x..]), out var d0, out var d1);
                (new Vector<double>(acc, x) + (u0 + d0) * wj).CopyTo(acc, x);
                (new Vector<double>(acc, x + nd) + (u1 + d1) * wj).CopyTo(acc, x + nd);
            }
            for (; x < width; x++) acc[x] += ((double)up[x] + down[x]) * wj;
        }
        var row = mid.AsSpan(y * width, width);
        for (var x = 0; x < width; x++) row[x] = (float)acc[x];
    }

    private static void Horizontal(ReadOnlySpan<float> row, Span<float> output, double[] w, double[] line)
    {
        int r = w.Length - 1, width = row.Length;
        for (var i = 0; i < line.Length; i++) line[i] = row[Reflect(i - r, width)];
        var n = Vector<double>.Count;
        var x = 0;
        Span<double> lanes = stackalloc double[n];
        for (; x + n <= width; x += n)
        {
            var acc = new Vector<double>(line.AsSpan(x + r)) * w[0];
            for (var j = r; j >= 1; j--)
                acc += (new Vector<double>(line.AsSpan(x + r - j)) + new Vector<double>(line.AsSpan(x + r + j))) * w[j];
            acc.CopyTo(lanes);
            for (var k = 0; k < n; k++) output[x + k] = (float)lanes[k];
        }
        for (; x < width; x++)
        {
            var acc = line[x + r] * w[0];
            for (var j = r; j >= 1; j--) acc += (line[x + r - j] + line[x + r + j]) * w[j];
            output[x] = (float)acc;
        }
    }
}
