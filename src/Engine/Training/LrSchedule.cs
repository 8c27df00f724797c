namespace BayesPfl.Engine.Training;

/// <summary>
/// The stage-1 learning-rate multiplier of spec §9.5: linear warm-up 0 → 1 over int(0.1 · itersPerEpoch · 30)
/// steps, then 0.5·(1 + cos(π·progress)) down to 0 at itersPerEpoch · 30 steps.
/// Stepping follows torch.optim.lr_scheduler.LambdaLR: constructing the scheduler applies λ(0), and each
/// scheduler.step() after optimizer.step() moves to the next λ, so optimizer update t (1-based) runs with
/// base_lr · λ(t − 1); the very first update therefore has learning rate 0 (Adam's moments still move).
/// </summary>
public sealed class LrSchedule
{
    public const int Epochs = 30;

    public LrSchedule(int itersPerEpoch)
    {
        if (itersPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(itersPerEpoch), $"iterations per epoch must be >= 1, got {itersPerEpoch}");
        TotalSteps = itersPerEpoch * Epochs;
        WarmupSteps = (int)(0.1 * itersPerEpoch * Epochs);
    }

    public int WarmupSteps { get; }

    public int TotalSteps { get; }

    /// <summary>λ(step) for the scheduler's step count (0 for the first optimizer update).</summary>
    public double Multiplier(long step)
    {
        if (step < WarmupSteps) return (double)step / Math.Max(1, WarmupSteps);
        var progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        // Past the end the cosine would rise again; training never gets there (at most 30 epochs), so hold 0.
        return progress >= 1 ? 0.0 : 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    /// <summary>The multiplier that optimizer update t (1-based) uses under LambdaLR stepping.</summary>
    public double ForUpdate(long t) => Multiplier(t - 1);
}
