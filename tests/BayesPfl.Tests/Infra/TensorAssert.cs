using System.Text;
using Xunit;

namespace BayesPfl.Tests.Infra;

/// <summary>
/// Element-wise comparison |a - b| <= atol + rtol * |ref| plus a normalised mean squared error bound,
/// reported with the max abs/rel error, its index and the first offending pairs. Every caller states why
/// its tolerance is what it is.
/// </summary>
public static class TensorAssert
{
    public static void Close(string name, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double atol, double rtol, double maxNmse = double.PositiveInfinity)
    {
        var a = new double[actual.Length];
        var e = new double[expected.Length];
        for (var i = 0; i < a.Length; i++) a[i] = actual[i];
        for (var i = 0; i < e.Length; i++) e[i] = expected[i];
        Close(name, a, e, atol, rtol, maxNmse);
    }

    public static void Close(string name, ReadOnlySpan<double> actual, ReadOnlySpan<double> expected, double atol, double rtol, double maxNmse = double.PositiveInfinity)
    {
        Assert.True(actual.Length == expected.Length, $"{name}: length {actual.Length} != expected {expected.Length}");
        Assert.True(actual.Length > 0, $"{name}: nothing to compare");
        double maxAbs = 0, maxRel = 0, se = 0, norm = 0;
        int worst = -1, bad = 0;
        var first = new StringBuilder();
        for (var i = 0; i < actual.Length; i++)
        {
            double x = actual[i], r = expected[i];
            var diff = Math.Abs(x - r);
            var ok = diff <= atol + rtol * Math.Abs(r) && !double.IsNaN(x) && !double.IsNaN(r);
            if (double.IsNaN(x) != double.IsNaN(r)) ok = false;
            if (double.IsNaN(x) && double.IsNaN(r)) ok = true;
            if (!double.IsNaN(diff))
            {
                se += diff * diff;
                norm += r * r;
                if (diff > maxAbs) { maxAbs = diff; worst = i; }
                maxRel = Math.Max(maxRel, diff / Math.Max(Math.Abs(r), 1e-30));
            }
            if (!ok)
            {
                if (bad < 5) first.Append($"  [{i}] got {x:G9}, expected {r:G9}\n");
                bad++;
            }
        }
        var nmse = norm > 0 ? se / norm : se;
        var summary = $"{name}: {bad}/{actual.Length} out of tolerance (atol {atol:G3}, rtol {rtol:G3}); max abs {maxAbs:G3} at [{worst}], max rel {maxRel:G3}, nmse {nmse:G3}";
        if (bad != 0) Assert.Fail(summary + Oracle.Replay() + "\n" + first);
        if (!(nmse <= maxNmse)) Assert.Fail($"{summary}; nmse above {maxNmse:G3}{Oracle.Replay()}");
    }

    public static void AllFinite(string name, ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) Assert.Fail($"{name}: non-finite value {values[i]} at [{i}]{Oracle.Replay()}");
    }

    public static void BitwiseEqual(string name, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.True(a.Length == b.Length, $"{name}: length {a.Length} != {b.Length}");
        for (var i = 0; i < a.Length; i++)
            if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i]))
                Assert.Fail($"{name}: rerun differs at [{i}]: {a[i]:G9} vs {b[i]:G9}{Oracle.Replay()}");
    }
}
