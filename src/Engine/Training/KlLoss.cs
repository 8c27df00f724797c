using System.Numerics;

namespace BayesPfl.Engine.Training;

/// <summary>
/// The KL terms of spec §5.6 with the reference's quirks: v (= exp(0.5·h)) is treated as the variance,
/// no −½log 2π constants, prior N(0, I), and the image-agnostic terms divide only their log-det by the image
/// batch size N. One term over M samples (rows) of width C:
///   KL = a · Σ_i [ log q0(z0_i) − log p(zK_i) ] − b · Σ_i logdet_i,
///   log q0(z0) = Σ_d −½(log v_d + (z0_d − mu_d)²/v_d),   log p(zK) = Σ_d −½ zK_d²,
/// with (a, b) = (1/N, 1/N) for the context (M = N) and (1, 1/N) for the normal/abnormal states (M = 1).
/// The reference adds 1e-8 inside each log; with v = exp(0.5·h) of order 1 that is below float resolution, so it is left out.
/// Gradients are partial derivatives with respect to each argument as an independent input (the caller
/// chains z0 = mu + √v·ε and the flow), scaled by upstream, and overwrite their spans.
/// </summary>
public static class KlLoss
{
    /// <summary>L_dist = Weight · (KL_ctx + KL_nrm + KL_abn).</summary>
    public const double Weight = 0.01;

    public static (double A, double B) ContextScales(int n) => (1.0 / n, 1.0 / n);

    public static (double A, double B) StateScales(int n) => (1.0, 1.0 / n);

    public static double Term<T>(ReadOnlySpan<T> mu, ReadOnlySpan<T> v, ReadOnlySpan<T> z0, ReadOnlySpan<T> zK, ReadOnlySpan<T> logdet, double a, double b)
        where T : IFloatingPointIeee754<T>
    {
        CheckSizes(mu, v, z0, zK, logdet);
        double logq = 0, logp = 0, ld = 0;
        for (var i = 0; i < mu.Length; i++)
        {
            double vi = double.CreateChecked(v[i]), d = double.CreateChecked(z0[i]) - double.CreateChecked(mu[i]), zk = double.CreateChecked(zK[i]);
            logq += -0.5 * (Math.Log(vi) + d * d / vi);
            logp += -0.5 * zk * zk;
        }
        foreach (var l in logdet) ld += double.CreateChecked(l);
        return a * (logq - logp) - b * ld;
    }

    public static void Backward<T>(Span<T> dmu, Span<T> dv, Span<T> dz0, Span<T> dzK, Span<T> dlogdet,
        ReadOnlySpan<T> mu, ReadOnlySpan<T> v, ReadOnlySpan<T> z0, ReadOnlySpan<T> zK, ReadOnlySpan<T> logdet, double a, double b, double upstream)
        where T : IFloatingPointIeee754<T>
    {
        CheckSizes(mu, v, z0, zK, logdet);
        if (dmu.Length != mu.Length || dv.Length != mu.Length || dz0.Length != mu.Length || dzK.Length != mu.Length || dlogdet.Length != logdet.Length)
            throw new ArgumentException("KlLoss.Backward: every gradient must have the length of its input");
        var s = upstream * a;
        for (var i = 0; i < mu.Length; i++)
        {
            double vi = double.CreateChecked(v[i]), d = double.CreateChecked(z0[i]) - double.CreateChecked(mu[i]);
            dz0[i] = T.CreateChecked(-s * d / vi);
            dmu[i] = T.CreateChecked(s * d / vi);
            dv[i] = T.CreateChecked(-0.5 * s * (1 / vi - d * d / (vi * vi)));
            dzK[i] = T.CreateChecked(s * double.CreateChecked(zK[i]));
        }
        dlogdet.Fill(T.CreateChecked(-upstream * b));
    }

    private static void CheckSizes<T>(ReadOnlySpan<T> mu, ReadOnlySpan<T> v, ReadOnlySpan<T> z0, ReadOnlySpan<T> zK, ReadOnlySpan<T> logdet)
    {
        if (v.Length != mu.Length || z0.Length != mu.Length || zK.Length != mu.Length)
            throw new ArgumentException($"KlLoss: mu {mu.Length}, v {v.Length}, z0 {z0.Length}, zK {zK.Length} values; they must match");
        if (logdet.Length == 0) throw new ArgumentException("KlLoss: logdet is empty (one value per sample)");
    }
}
