using System.Numerics;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// LayerNorm over the last dimension, generic so that it runs in double for finite differences. Argument
/// order as in src/Kernels/layernorm.cu: outputs, saved, inputs, sizes (rows, C), eps.
/// </summary>
public static class LayerNormReference
{
    /// <summary>
    /// Two-pass statistics (mean first, then Σ(x−mean)²: no cancellation for rows with a large mean, as in
    /// CLIP's residual stream); biased variance as in PyTorch. Saves mean and rstd = 1/√(var+eps) per row.
    /// </summary>
    public static void Forward<T>(Span<T> y, Span<T> mean, Span<T> rstd, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        int rows, int c, T eps) where T : IFloatingPointIeee754<T>
    {
        var count = T.CreateChecked(c);
        for (var r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * c, c);
            var sum = T.Zero;
            foreach (var v in xr) sum += v;
            var mu = sum / count;
            var ss = T.Zero;
            foreach (var v in xr) ss += (v - mu) * (v - mu);
            var rs = T.One / T.Sqrt(ss / count + eps);
            mean[r] = mu;
            rstd[r] = rs;
            var yr = y.Slice(r * c, c);
            for (var i = 0; i < c; i++) yr[i] = (xr[i] - mu) * rs * gamma[i] + beta[i];
        }
    }

    /// <summary>
    /// With x̂ = (x−mean)·rstd and g = dy⊙gamma: dx = rstd·(g − mean(g) − x̂·mean(g⊙x̂)) (overwritten);
    /// dgamma += Σ_rows dy⊙x̂; dbeta += Σ_rows dy (accumulated).
    /// </summary>
    public static void Backward<T>(Span<T> dx, Span<T> dgamma, Span<T> dbeta, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, ReadOnlySpan<T> mean,
        ReadOnlySpan<T> rstd, ReadOnlySpan<T> gamma, int rows, int c) where T : IFloatingPointIeee754<T>
    {
        var count = T.CreateChecked(c);
        for (var r = 0; r < rows; r++)
        {
            var o = r * c;
            T mu = mean[r], rs = rstd[r], sumG = T.Zero, sumGx = T.Zero;
            for (var i = 0; i < c; i++)
            {
                var g = dy[o + i] * gamma[i];
                var xhat = (x[o + i] - mu) * rs;
                sumG += g;
                sumGx += g * xhat;
                dgamma[i] += dy[o + i] * xhat;
                dbeta[i] += dy[o + i];
            }
            var meanG = sumG / count;
            var meanGx = sumGx / count;
            for (var i = 0; i < c; i++)
            {
                var xhat = (x[o + i] - mu) * rs;
                dx[o + i] = rs * (dy[o + i] * gamma[i] - meanG - xhat * meanGx);
            }
        }
    }
}
