namespace BayesPfl.Engine.Metrics;

/// <summary>
/// The per-category image score of spec §8: each input min-max normalised over all test images of the
/// category, then mixed. Transductive by construction (needs the whole category). Computed in float64.
/// </summary>
public static class ImageScore
{
    /// <summary>The +1e-8 of the reference code that keeps a constant input finite (it maps to all zeros).</summary>
    public const double MinMaxEps = 1e-8;

    /// <summary>(x − min)/(max − min + 1e-8) over the whole input.</summary>
    public static double[] MinMax(ReadOnlySpan<double> x)
    {
        if (x.IsEmpty) throw new ArgumentException("no scores to normalise", nameof(x));
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var v in x)
        {
            if (double.IsNaN(v)) throw new ArgumentException("scores contain NaN", nameof(x));
            min = Math.Min(min, v); max = Math.Max(max, v);
        }
        var result = new double[x.Length];
        for (var i = 0; i < x.Length; i++) result[i] = (x[i] - min) / (max - min + MinMaxEps);
        return result;
    }

    /// <summary>alpha·minmax(pImg) + (1 − alpha)·minmax(sMap); alpha = 0.5 in the paper's evaluation.</summary>
    public static double[] Fuse(ReadOnlySpan<double> pImg, ReadOnlySpan<double> sMap, double alpha = 0.5)
    {
        if (pImg.Length != sMap.Length)
            throw new ArgumentException($"{pImg.Length} classification scores but {sMap.Length} map scores", nameof(sMap));
        var a = MinMax(pImg);
        var b = MinMax(sMap);
        for (var i = 0; i < a.Length; i++) a[i] = alpha * a[i] + (1 - alpha) * b[i];
        return a;
    }

    /// <summary>Classification-only datasets (HeadCT, BrainMRI, Br35H): minmax(pImg), no map term.</summary>
    public static double[] ClassificationOnly(ReadOnlySpan<double> pImg) => MinMax(pImg);
}
