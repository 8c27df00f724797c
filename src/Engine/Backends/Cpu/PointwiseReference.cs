using System.Numerics;

namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// Element-wise ops, generic so that they run in double for finite differences. Argument order as in
/// src/Kernels/pointwise.cu: outputs, inputs, scalars; the length is the spans' length. Backward passes
/// overwrite dx.
/// </summary>
public static class PointwiseReference
{
    private const double InvSqrt2 = 0.70710678118654752440;
    private const double InvSqrt2Pi = 0.39894228040143267794;
    private const double QuickAlpha = 1.702;

    /// <summary>Softplus is linear above this input, as PyTorch's default threshold.</summary>
    public const double SoftplusThreshold = 20.0;

    /// <summary>Erf: x·Φ(x) = ½x·erfc(−x/√2) (erfc keeps the negative tail accurate); Quick: x·σ(1.702x).</summary>
    public static void Gelu<T>(Span<T> y, ReadOnlySpan<T> x, GeluKind kind) where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < y.Length; i++)
        {
            var v = double.CreateChecked(x[i]);
            y[i] = T.CreateChecked(kind == GeluKind.Erf ? 0.5 * v * Erf.Complement(-v * InvSqrt2) : v * Sigmoid(QuickAlpha * v));
        }
    }

    /// <summary>Erf: Φ(x) + x·φ(x); Quick: s + 1.702·x·s·(1−s) with s = σ(1.702x).</summary>
    public static void GeluBackward<T>(Span<T> dx, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, GeluKind kind) where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < dx.Length; i++)
        {
            var v = double.CreateChecked(x[i]);
            double d;
            if (kind == GeluKind.Erf)
                d = 0.5 * Erf.Complement(-v * InvSqrt2) + v * InvSqrt2Pi * Math.Exp(-0.5 * v * v);
            else
            {
                var s = Sigmoid(QuickAlpha * v);
                d = s + QuickAlpha * v * s * (1 - s);
            }
            dx[i] = T.CreateChecked(double.CreateChecked(dy[i]) * d);
        }
    }

    public static void Add<T>(Span<T> y, ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < y.Length; i++) y[i] = a[i] + b[i];
    }

    /// <summary>log(1+eˣ), and x itself above the threshold (where the two agree to float precision).</summary>
    public static void Softplus<T>(Span<T> y, ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T>
    {
        var threshold = T.CreateChecked(SoftplusThreshold);
        for (var i = 0; i < y.Length; i++) y[i] = x[i] > threshold ? x[i] : Log1p(T.Exp(x[i]));
    }

    /// <summary>
    /// log(1+u) accurate for tiny u (.NET's LogP1 is log(1+u), which returns 0 once u is below half an ulp of 1):
    /// with w = 1+u rounded, log(w)·u/(w−1) cancels the rounding of w (Goldberg, "What every computer scientist
    /// should know about floating-point arithmetic", Theorem 4).
    /// </summary>
    public static T Log1p<T>(T u) where T : IFloatingPointIeee754<T>
    {
        var w = T.One + u;
        return w == T.One ? u : T.Log(w) * u / (w - T.One);
    }

    /// <summary>dx = dy·σ(x) = dy·eˣ/(1+eˣ), and dy above the threshold.</summary>
    public static void SoftplusBackward<T>(Span<T> dx, ReadOnlySpan<T> dy, ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T>
    {
        var threshold = T.CreateChecked(SoftplusThreshold);
        for (var i = 0; i < dx.Length; i++)
        {
            var e = T.Exp(x[i]);
            dx[i] = x[i] > threshold ? dy[i] : dy[i] * e / (e + T.One);
        }
    }

    public static void Tanh<T>(Span<T> y, ReadOnlySpan<T> x) where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < y.Length; i++) y[i] = T.Tanh(x[i]);
    }

    /// <summary>dx = dy·(1 − y²) from the saved output.</summary>
    public static void TanhBackward<T>(Span<T> dx, ReadOnlySpan<T> dy, ReadOnlySpan<T> y) where T : IFloatingPointIeee754<T>
    {
        for (var i = 0; i < dx.Length; i++) dx[i] = dy[i] * (T.One - y[i] * y[i]);
    }

    private static double Sigmoid(double z) => 1.0 / (1.0 + Math.Exp(-z));
}
