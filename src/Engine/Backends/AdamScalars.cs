namespace BayesPfl.Engine.Backends;

/// <summary>
/// The per-step scalars of one Adam update, each computed in double and rounded once to float, exactly
/// where torch.optim.Adam (single-tensor path) computes them in Python floats before a float32 kernel uses
/// them: 1−β₁ and 1−β₂ (the add_/addcmul_ alphas), stepSize = lr / (1 − β₁ᵗ), bc2Sqrt = √(1 − β₂ᵗ).
/// </summary>
public readonly record struct AdamScalars(float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2, float Eps, float StepSize, float Bc2Sqrt)
{
    /// <summary>Scalars of step t (1-based, the count after this update) at learning rate lr.</summary>
    public static AdamScalars For(double lr, double beta1, double beta2, double eps, long step)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"Adam step counts from 1, got {step}");
        var bc1 = 1 - Math.Pow(beta1, step);
        var bc2 = 1 - Math.Pow(beta2, step);
        return new((float)beta1, (float)(1 - beta1), (float)beta2, (float)(1 - beta2), (float)eps, (float)(lr / bc1), (float)Math.Sqrt(bc2));
    }
}
