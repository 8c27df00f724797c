namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// erf and erfc in double precision (.NET has neither), after W. J. Cody, "Rational Chebyshev approximations
/// for the error function", Math. Comp. 23 (1969): three rational approximations, each good to about 18
/// significant digits on its interval; erfc is computed directly on the tails, so that 1 − erf never cancels.
/// exp(−y²) is evaluated as exp(−t²)·exp(−(y−t)(y+t)) with t = y rounded down to 1/16, which keeps the
/// rounding error of y² out of the exponent. Float callers compute in double and round once.
/// </summary>
public static class Erf
{
    private const double InvSqrtPi = 0.56418958354775628695;

    // Interval |x| <= 0.46875: erf(x) = x · A(x²) / B(x²).
    private static readonly double[] A = [3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03, 1.85777706184603153e-1];
    private static readonly double[] B = [2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03];

    // Interval 0.46875 < |x| <= 4: erfc(x) = exp(−x²) · C(x) / D(x).
    private static readonly double[] C = [5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
        8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8];
    private static readonly double[] D = [1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
        3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03];

    // Interval |x| > 4: erfc(x) = exp(−x²)/x · (1/√π − z·P(z)/Q(z)) with z = 1/x².
    private static readonly double[] P = [3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2,
        6.58749161529837803e-4, 1.63153871373020978e-2];
    private static readonly double[] Q = [2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2,
        2.33520497626869185e-3];

    public static double Of(double x)
    {
        var y = Math.Abs(x);
        if (y <= 0.46875) return x * Small(y * y);
        if (double.IsNaN(x)) return x;
        var r = 1.0 - TailErfc(y);
        return x < 0 ? -r : r;
    }

    public static double Complement(double x)
    {
        var y = Math.Abs(x);
        if (y <= 0.46875) return 1.0 - x * Small(y * y);
        if (double.IsNaN(x)) return x;
        var r = TailErfc(y);
        return x < 0 ? 2.0 - r : r;
    }

    /// <summary>erf(x)/x for x² = ysq <= 0.2197.</summary>
    private static double Small(double ysq)
    {
        double num = A[4] * ysq, den = ysq;
        for (var i = 0; i < 3; i++)
        {
            num = (num + A[i]) * ysq;
            den = (den + B[i]) * ysq;
        }
        return (num + A[3]) / (den + B[3]);
    }

    /// <summary>erfc(y) for y > 0.46875.</summary>
    private static double TailErfc(double y)
    {
        // Beyond 26.543 erfc underflows to 0 in double.
        if (y >= 26.543) return 0.0;
        double r;
        if (y <= 4.0)
        {
            double num = C[8] * y, den = y;
            for (var i = 0; i < 7; i++)
            {
                num = (num + C[i]) * y;
                den = (den + D[i]) * y;
            }
            r = (num + C[7]) / (den + D[7]);
        }
        else
        {
            var z = 1.0 / (y * y);
            double num = P[5] * z, den = z;
            for (var i = 0; i < 4; i++)
            {
                num = (num + P[i]) * z;
                den = (den + Q[i]) * z;
            }
            r = (InvSqrtPi - z * (num + P[4]) / (den + Q[4])) / y;
        }
        var t = Math.Truncate(y * 16.0) / 16.0;
        return Math.Exp(-t * t) * Math.Exp(-(y - t) * (y + t)) * r;
    }
}
