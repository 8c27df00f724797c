using System.Numerics;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// The GEMM family as plain triple loops, generic so that it runs in double for finite differences and is
/// the yardstick for the fast float path (<see cref="Sgemm"/>). Row-major; argument order as in the kernels:
/// outputs, inputs, sizes. Sums run over the inner index in increasing order.
/// </summary>
public static class GemmReference
{
    /// <summary>y[M,N] = x[M,K] · w[N,K]ᵀ + bias[N] (empty bias: none).</summary>
    public static void Linear<T>(Span<T> y, ReadOnlySpan<T> x, ReadOnlySpan<T> w, ReadOnlySpan<T> bias, int m, int k, int n)
        where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                var s = bias.IsEmpty ? T.Zero : bias[j];
                for (var p = 0; p < k; p++) s += x[i * k + p] * w[j * k + p];
                y[i * n + j] = s;
            }
    }

    /// <summary>dx[M,K] = dy[M,N] · w[N,K] (overwrites).</summary>
    public static void LinearBackwardInput<T>(Span<T> dx, ReadOnlySpan<T> dy, ReadOnlySpan<T> w, int m, int k, int n)
        where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < m; i++)
            for (var p = 0; p < k; p++)
            {
                var s = T.Zero;
                for (var j = 0; j < n; j++) s += dy[i * n + j] * w[j * k + p];
                dx[i * k + p] = s;
            }
    }

    /// <summary>dw[N,K] += dy[M,N]ᵀ · x[M,K]; dbias[N] += Σ_rows dy (empty dbias: skipped).</summary>
    public static void LinearBackwardWeight<T>(Span<T> dw, Span<T> dbias, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, int m, int k, int n)
        where T : IFloatingPointIeee754<T>
    {
        for (var j = 0; j < n; j++)
        {
            for (var p = 0; p < k; p++)
            {
                var s = T.Zero;
                for (var i = 0; i < m; i++) s += dy[i * n + j] * x[i * k + p];
                dw[j * k + p] += s;
            }
            if (dbias.IsEmpty) continue;
            var sb = T.Zero;
            for (var i = 0; i < m; i++) sb += dy[i * n + j];
            dbias[j] += sb;
        }
    }

    /// <summary>c[b] = a[b] · op(bm[b]) with a[Bt,M,K], bm[Bt,K,N] or [Bt,N,K] (transposeB) → c[Bt,M,N].</summary>
    public static void BatchedMatMul<T>(Span<T> c, ReadOnlySpan<T> a, ReadOnlySpan<T> bm, int batch, int m, int k, int n, bool transposeB)
        where T : IFloatingPointIeee754<T>
    {
        for (var b = 0; b < batch; b++)
        {
            var ab = a.Slice(b * m * k, m * k);
            var bb = bm.Slice(b * k * n, k * n);
            var cb = c.Slice(b * m * n, m * n);
            for (var i = 0; i < m; i++)
                for (var j = 0; j < n; j++)
                {
                    var s = T.Zero;
                    for (var p = 0; p < k; p++) s += ab[i * k + p] * (transposeB ? bb[j * k + p] : bb[p * n + j]);
                    cb[i * n + j] = s;
                }
        }
    }
}
