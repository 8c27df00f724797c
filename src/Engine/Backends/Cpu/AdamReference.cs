namespace BayesPfl.Engine.Backends.Cpu;

/// <summary>
/// One Adam update in float with the operation order of src/Kernels/adam.cu and of PyTorch's CPU kernels
/// (see <see cref="AdamScalars"/> for where each scalar is rounded). Not generic: Adam has no backward, and its
/// parity tests compare float bits with the emulated kernel.
/// </summary>
public static class AdamReference
{
    public static void Step(Span<float> param, Span<float> m, Span<float> v, ReadOnlySpan<float> grad, in AdamScalars s)
    {
        for (var i = 0; i < param.Length; i++)
        {
            var g = grad[i];
            var mi = m[i] * s.Beta1 + s.OneMinusBeta1 * g;
            var vi = v[i] * s.Beta2 + s.OneMinusBeta2 * g * g;
            m[i] = mi;
            v[i] = vi;
            var denom = MathF.Sqrt(vi) / s.Bc2Sqrt + s.Eps;
            param[i] += -s.StepSize * mi / denom;
        }
    }
}
