namespace BayesPfl.Tests.Infra;

/// <summary>
/// Central finite differences in double precision: for a scalar loss L(x) = Σ f(x) ⊙ w with a fixed random
/// weighting w, dL/dx_i ≈ (L(x + h e_i) − L(x − h e_i)) / 2h. With h = 1e-6 on O(1) inputs the truncation
/// error is O(h²) ≈ 1e-12 and the rounding error O(ε/h) ≈ 1e-10, so analytic double-precision gradients
/// agree to ~1e-7 relative unless the function has a kink within h of an input.
/// </summary>
public static class FiniteDiff
{
    public const double Step = 1e-6;

    /// <summary>Numerical gradient of loss() with respect to every element of x (x is restored afterwards).</summary>
    public static double[] Gradient(double[] x, Func<double> loss, double h = Step)
    {
        var g = new double[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            var keep = x[i];
            x[i] = keep + h;
            var plus = loss();
            x[i] = keep - h;
            var minus = loss();
            x[i] = keep;
            g[i] = (plus - minus) / (2 * h);
        }
        return g;
    }

    /// <summary>Σ a ⊙ w: the scalar projection used to turn a tensor-valued op into a loss.</summary>
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> w)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++) s += a[i] * w[i];
        return s;
    }

    public static double[] Random(int n, int seed, double scale = 1.0)
    {
        var r = new Random(seed);
        var v = new double[n];
        for (var i = 0; i < n; i++) v[i] = scale * (2 * r.NextDouble() - 1);
        return v;
    }

    public static float[] RandomFloats(int n, int seed, float scale = 1f)
    {
        var r = new Random(seed);
        var v = new float[n];
        for (var i = 0; i < n; i++) v[i] = scale * (2 * r.NextSingle() - 1);
        return v;
    }
}
