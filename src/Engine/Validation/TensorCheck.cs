namespace BayesPfl.Engine.Validation;

/// <summary>
/// One reference tensor against the engine's value. MaxRel is the largest error relative to the tensor's largest
/// magnitude (max|engine−ref| / max|ref|: per-element ratios explode near zero and say nothing). Worst is the
/// element using most of its allowance: Limit = its error / its allowed error (pass ≤ 1).
/// </summary>
public sealed record TensorCheck(
    string Name, TensorKind Kind, int[] Shape, Tolerance Tolerance, double MaxAbs, double MaxRel, double Nmse,
    long Worst, float WorstEngine, float WorstReference, double Limit, string? Problem)
{
    public bool Passed => Problem is null && Limit <= 1 && Nmse <= Tolerance.MaxNmse;

    public string ShapeText => "[" + string.Join(",", Shape) + "]";

    /// <summary>Compares <paramref name="engine"/> with <paramref name="reference"/> under the kind's tolerance.</summary>
    public static TensorCheck Compare(string name, TensorKind kind, int[] shape, ReadOnlySpan<float> engine, ReadOnlySpan<float> reference)
    {
        var tol = Tolerance.For(kind);
        if (engine.Length != reference.Length)
            return Failed(name, kind, shape, $"the engine made {engine.Length} values, the reference holds {reference.Length}");

        double sumSq = 0, maxRef = 0;
        foreach (var r in reference)
        {
            sumSq += (double)r * r;
            maxRef = Math.Max(maxRef, Math.Abs(r));
        }
        if (!double.IsFinite(sumSq)) return Failed(name, kind, shape, "the reference holds NaN or infinite values");
        var rms = reference.Length == 0 ? 0 : Math.Sqrt(sumSq / reference.Length);
        var floor = tol.Abs + tol.OfRms * rms;

        double maxAbs = 0, se = 0, limit = 0;
        long worst = 0;
        string? problem = null;
        for (var i = 0; i < engine.Length; i++)
        {
            double e = engine[i], r = reference[i];
            if (!double.IsFinite(e))
            {
                problem ??= $"the engine's value at {i} is {engine[i]}";
                continue;
            }
            var d = Math.Abs(e - r);
            se += d * d;
            maxAbs = Math.Max(maxAbs, d);
            var allowed = floor + tol.Rel * Math.Abs(r);
            var ratio = allowed > 0 ? d / allowed : d > 0 ? double.PositiveInfinity : 0;
            if (ratio > limit)
            {
                limit = ratio;
                worst = i;
            }
        }
        var nmse = sumSq > 0 ? se / sumSq : se > 0 ? double.PositiveInfinity : 0;
        var maxRel = maxRef > 0 ? maxAbs / maxRef : maxAbs > 0 ? double.PositiveInfinity : 0;
        var at = engine.Length > 0 ? (int)worst : -1;
        return new TensorCheck(name, kind, shape, tol, maxAbs, maxRel, nmse, worst,
            at >= 0 ? engine[at] : float.NaN, at >= 0 ? reference[at] : float.NaN, limit, problem);
    }

    /// <summary>A check that could not compare values (shape mismatch, missing engine output).</summary>
    public static TensorCheck Failed(string name, TensorKind kind, int[] shape, string problem) =>
        new(name, kind, shape, Tolerance.For(kind), double.NaN, double.NaN, double.NaN, -1, float.NaN, float.NaN, double.NaN, problem);
}
