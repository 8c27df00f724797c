namespace BayesPfl.Engine.Training;

/// <summary>Mean pixel AP (stage-1 selection) and mean image AP (stage-2 selection) over the validation categories (spec 9.5).</summary>
public sealed record ValidationMetrics(double PixelAp, double ImageAp)
{
    /// <summary>The metric <see cref="StageControl"/> watches in <paramref name="stage"/>.</summary>
    public double For(TrainingStage stage) => stage == TrainingStage.One ? PixelAp : ImageAp;
}

/// <summary>The per-epoch validation the trainer runs; it must be a pure function of (parameters, stage, epoch) so resume is bit-identical.</summary>
public interface IValidator
{
    ValidationMetrics Validate(HeadParameters parameters, TrainingStage stage, int epoch);
}
