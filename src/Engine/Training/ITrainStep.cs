using BayesPfl.Engine.Data.Training;

namespace BayesPfl.Engine.Training;

/// <summary>The loss terms of one step (spec 9.2, 9.3); in stage 2 only <see cref="Cls"/> is non-zero.</summary>
public sealed record StepLosses(double Cls, double[] Focal, double[] Dice, double Dist, double Orth)
{
    public double Seg => Focal.Sum() + Dice.Sum();

    public double Total => Cls + Seg + Dist + Orth;
}

/// <summary>
/// Forward and backward of one training step on a batch: vision tower (frozen, forward only), prompt flows,
/// text tower (input gradients only), head and losses. Gradients ACCUMULATE into
/// <see cref="Parameters"/>' gradient buffers (the trainer zeroes them and runs the optimiser).
/// </summary>
public interface ITrainStep : IDisposable
{
    HeadParameters Parameters { get; }

    /// <summary>
    /// <paramref name="bankIndex"/> is b* ∈ [0, Bank) (spec 9.1); <paramref name="noise"/> holds (N+2)·Embed
    /// standard normals: rows 0..N−1 the context noise of image i, row N the normal state's, row N+1 the
    /// abnormal state's.
    /// </summary>
    StepLosses Run(TrainBatch batch, int bankIndex, ReadOnlySpan<float> noise, TrainingStage stage);
}
