using System.Numerics;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// Row-wise ops over the last dimension (softmax, L2 normalisation), generic so that they run in double for
/// finite differences. Argument order as in src/Kernels/softmax.cu and l2norm.cu: outputs, saved, inputs,
/// sizes (rows, C). Backward passes overwrite dx.
/// </summary>
public static class RowReference
{
    /// <summary>y = exp(x − max) / Σ exp(x − max) per row.</summary>
    public static void Softmax<T>(Span<T> y, ReadOnlySpan<T> x, int rows, int c) where T : IFloatingPointIeee754<T>
    {
        for (var r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * c, c);
            var yr = y.Slice(r * c, c);
            var max = T.NegativeInfinity;
            foreach (var v in xr) max = T.Max(max, v);
            var sum = T.Zero;
            for (var i = 0; i < c; i++)
            {
                yr[i] = T.Exp(xr[i] - max);
                sum += yr[i];
            }
            var inv = T.One / sum;
            for (var i = 0; i < c; i++) yr[i] *= inv;
        }
    }

    /// <summary>dx = y ⊙ (dy − Σ dy⊙y) per row.</summary>
    public static void SoftmaxBackward<T>(Span<T> dx, ReadOnlySpan<T> dy, ReadOnlySpan<T> y, int rows, int c) where T : IFloatingPointIeee754<T>
    {
        for (var r = 0; r < rows; r++)
        {
            var o = r * c;
            var dot = T.Zero;
            for (var i = 0; i < c; i++) dot += dy[o + i] * y[o + i];
            for (var i = 0; i < c; i++) dx[o + i] = y[o + i] * (dy[o + i] - dot);
        }
    }

    /// <summary>norm = ‖x‖₂ per row, y = x / norm (no epsilon: a zero row gives NaN, as in the reference model).</summary>
    public static void L2Normalize<T>(Span<T> y, Span<T> norm, ReadOnlySpan<T> x, int rows, int c) where T : IFloatingPointIeee754<T>
    {
        for (var r = 0; r < rows; r++)
        {
            var o = r * c;
            var ss = T.Zero;
            for (var i = 0; i < c; i++) ss += x[o + i] * x[o + i];
            var n = T.Sqrt(ss);
            norm[r] = n;
            for (var i = 0; i < c; i++) y[o + i] = x[o + i] / n;
        }
    }

    /// <summary>dx = (dy − y·(dy·y)) / norm: the Jacobian of x/‖x‖ is (I − yyᵀ)/‖x‖.</summary>
    public static void L2NormalizeBackward<T>(Span<T> dx, ReadOnlySpan<T> dy, ReadOnlySpan<T> y, ReadOnlySpan<T> norm, int rows, int c)
        where T : IFloatingPointIeee754<T>
    {
        for (var r = 0; r < rows; r++)
        {
            var o = r * c;
            var dot = T.Zero;
            for (var i = 0; i < c; i++) dot += dy[o + i] * y[o + i];
            for (var i = 0; i < c; i++) dx[o + i] = (dy[o + i] - y[o + i] * dot) / norm[r];
        }
    }
}
