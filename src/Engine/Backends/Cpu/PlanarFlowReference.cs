using System.Numerics;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// Planar flows of spec 5.2, K sequential steps per sample r: a = w_k·z + b_k, z += u_k·tanh(a),
/// logdet += log(|1 + (1 − tanh²(a))·(w_k·u_k)| + 1e-5). No invertibility constraint on u (spec 14.5).
/// u, w [P,K,D], b [P,K] with P = R (amortised, one set per sample) or P = 1 (shared). Same argument order
/// as src/Kernels/planar_flow.cu: zK, logdet, a (saved), z0, u, w, b.
/// </summary>
public static class PlanarFlowReference
{
    /// <summary>Samples R, steps K, dimension D; Shared = the flow parameters have P = 1.</summary>
    public readonly record struct Dims(int Samples, int Steps, int Dim, bool Shared);

    public const double LogDetEpsilon = 1e-5;

    public static Dims CheckShapes(string op, Tensor zK, Tensor logdet, Tensor a, Tensor z0, Tensor u, Tensor w, Tensor b)
    {
        Check.F32(op, zK, logdet, a, z0, u, w, b);
        Check.Rank(op, z0, 2);
        int r = z0.Shape[0], d = z0.Shape[1];
        Check.Rank(op, u, 3);
        int p = u.Shape[0], k = u.Shape[1];
        Check.That(p == r || p == 1, op, $"{u.Name} has shape {u.Shape}; its first dim must be R = {r} (per sample) or 1 (shared)");
        Check.Shape(op, u, p, k, d);
        Check.Shape(op, w, p, k, d);
        Check.Shape(op, b, p, k);
        Check.Shape(op, zK, r, d);
        Check.Shape(op, logdet, r);
        Check.Shape(op, a, r, k);
        return new Dims(r, k, d, p == 1 && r != 1);
    }

    public static void Forward<T>(Span<T> zK, Span<T> logdet, Span<T> a, ReadOnlySpan<T> z0, ReadOnlySpan<T> u,
        ReadOnlySpan<T> w, ReadOnlySpan<T> b, Dims n) where T : IFloatingPointIeee754<T>
    {
        int d = n.Dim, k = n.Steps;
        var eps = T.CreateTruncating(LogDetEpsilon);
        z0.CopyTo(zK);
        for (var r = 0; r < n.Samples; r++)
        {
            var z = zK.Slice(r * d, d);
            var p = n.Shared ? 0 : r;
            var sum = T.Zero;
            for (var s = 0; s < k; s++)
            {
                var us = u.Slice((p * k + s) * d, d);
                var ws = w.Slice((p * k + s) * d, d);
                var act = Dot<T>(ws, z) + b[p * k + s];
                var t = T.Tanh(act);
                sum += T.Log(T.Abs(T.One + (T.One - t * t) * Dot(ws, us)) + eps);
                for (var i = 0; i < d; i++) z[i] += us[i] * t;
                a[r * k + s] = act;
            }
            logdet[r] = sum;
        }
    }

    /// <summary>Shapes of <see cref="Backward{T}"/>: those of the forward plus the gradients, which mirror their values.</summary>
    public static Dims CheckBackward(string op, Tensor dz0, Tensor du, Tensor dw, Tensor db, Tensor dzK, Tensor dlogdet, Tensor a,
        Tensor z0, Tensor u, Tensor w, Tensor b)
    {
        var n = CheckShapes(op, dzK, dlogdet, a, z0, u, w, b);
        Check.F32(op, dz0, du, dw, db);
        Check.SameShape(op, dz0, z0);
        Check.SameShape(op, du, u);
        Check.SameShape(op, dw, w);
        Check.SameShape(op, db, b);
        return n;
    }

    /// <summary>
    /// Reverse pass, step k = K−1..0, with g = dL/dz_(k+1), t = tanh(a_k), t' = 1 − t², ψ = 1 + t'·(w_k·u_k):
    /// c = dlogdet·sign(ψ)/(|ψ| + 1e-5) (the log-det term), da = t'·(g·u_k) − 2·t·t'·(w_k·u_k)·c,
    /// du_k += g·t + c·t'·w_k, dw_k += da·z_k + c·t'·u_k, db_k += da, g ← g + da·w_k. z_k is recomputed from z0
    /// with the saved a (bitwise the forward's z_k), so b is not needed. Shared parameters take the samples in order r = 0..R−1.
    /// </summary>
    public static void Backward<T>(Span<T> dz0, Span<T> du, Span<T> dw, Span<T> db, ReadOnlySpan<T> dzK, ReadOnlySpan<T> dlogdet,
        ReadOnlySpan<T> a, ReadOnlySpan<T> z0, ReadOnlySpan<T> u, ReadOnlySpan<T> w, Dims n)
        where T : IFloatingPointIeee754<T>
    {
        int d = n.Dim, k = n.Steps;
        var eps = T.CreateTruncating(LogDetEpsilon);
        var two = T.CreateTruncating(2);
        var z = new T[d];
        dzK.CopyTo(dz0);
        for (var r = 0; r < n.Samples; r++)
        {
            var g = dz0.Slice(r * d, d);
            var p = n.Shared ? 0 : r;
            for (var s = k - 1; s >= 0; s--)
            {
                z0.Slice(r * d, d).CopyTo(z);
                for (var j = 0; j < s; j++)
                {
                    var tj = T.Tanh(a[r * k + j]);
                    var uj = u.Slice((p * k + j) * d, d);
                    for (var i = 0; i < d; i++) z[i] += uj[i] * tj;
                }
                var at = (p * k + s) * d;
                var us = u.Slice(at, d);
                var ws = w.Slice(at, d);
                var t = T.Tanh(a[r * k + s]);
                var tp = T.One - t * t;
                var wu = Dot(ws, us);
                var psi = T.One + tp * wu;
                // sign(0) = 0 as PyTorch's abs'; written out because T.Sign throws on NaN.
                var sign = psi > T.Zero ? T.One : psi < T.Zero ? -T.One : T.Zero;
                var c = dlogdet[r] * sign / (T.Abs(psi) + eps);
                var da = tp * Dot<T>(g, us) - two * t * tp * wu * c;
                for (var i = 0; i < d; i++)
                {
                    du[at + i] += g[i] * t + c * tp * ws[i];
                    dw[at + i] += da * z[i] + c * tp * us[i];
                    g[i] += da * ws[i];
                }
                db[p * k + s] += da;
            }
        }
    }

    private static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : IFloatingPointIeee754<T>
    {
        var s = T.Zero;
        for (var i = 0; i < x.Length; i++) s += x[i] * y[i];
        return s;
    }
}
