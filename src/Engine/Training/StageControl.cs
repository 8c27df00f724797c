namespace BayesPfl.Engine.Training;

public enum TrainingStage
{
    /// <summary>Prompt flows, prompts, RCA, class mapping; selected on pixel AP.</summary>
    One = 1,

    /// <summary>Classification only (class_mapping, image_mapping, fuse); selected on image AP.</summary>
    Two = 2,

    Done = 3,
}

/// <summary>What the trainer must do after an epoch's validation.</summary>
public enum EpochAction
{
    /// <summary>New best: snapshot the current parameters, keep training.</summary>
    SaveBest,

    /// <summary>Not better: keep training.</summary>
    Continue,

    /// <summary>Patience ran out in stage 1: restore the best snapshot and start stage 2 (fresh optimiser).</summary>
    RestoreBestAndStartStageTwo,

    /// <summary>Patience ran out in stage 2, or the epoch budget is spent: stop.</summary>
    Stop,
}

/// <summary>
/// Model selection and early stopping of spec §9.5: stage 1 watches mean pixel AP, stage 2 mean image AP;
/// a metric ≥ the best so far (ties count as improvements) snapshots and resets patience; after
/// <see cref="Patience"/> consecutive non-improving epochs stage 1 restores its best and switches to stage 2,
/// stage 2 stops. At most <see cref="MaxEpochs"/> epochs in total. Stage 2 starts with no best.
/// </summary>
public sealed class StageControl
{
    public const int Patience = 4;
    public const int MaxEpochs = 30;

    public TrainingStage Stage { get; private set; } = TrainingStage.One;

    /// <summary>Best metric of the current stage (−∞ before its first epoch).</summary>
    public double Best { get; private set; } = double.NegativeInfinity;

    /// <summary>Consecutive non-improving epochs in the current stage.</summary>
    public int Bad { get; private set; }

    public int EpochsDone { get; private set; }

    /// <summary>Feeds one epoch's metric (pixel AP in stage 1, image AP in stage 2).</summary>
    public EpochAction OnEpoch(double metric)
    {
        if (Stage == TrainingStage.Done) throw new InvalidOperationException("training already finished");
        if (double.IsNaN(metric)) throw new ArgumentException("validation metric is NaN", nameof(metric));
        EpochsDone++;
        EpochAction action;
        if (metric >= Best)
        {
            Best = metric;
            Bad = 0;
            action = EpochAction.SaveBest;
        }
        else if (++Bad >= Patience)
        {
            action = Stage == TrainingStage.One ? EpochAction.RestoreBestAndStartStageTwo : EpochAction.Stop;
            if (Stage == TrainingStage.One)
            {
                Stage = TrainingStage.Two;
                Best = double.NegativeInfinity;
                Bad = 0;
            }
            else Stage = TrainingStage.Done;
        }
        else action = EpochAction.Continue;
        if (EpochsDone >= MaxEpochs && Stage != TrainingStage.Done)
        {
            Stage = TrainingStage.Done;
            return action == EpochAction.SaveBest ? EpochAction.SaveBest : EpochAction.Stop;
        }
        return action;
    }

    /// <summary>Restores the state saved in a checkpoint.</summary>
    public void Restore(TrainingStage stage, double best, int bad, int epochsDone)
    {
        if (bad < 0 || bad >= Patience || epochsDone < 0 || epochsDone > MaxEpochs)
            throw new ArgumentException($"invalid stage state: bad {bad}, epochs {epochsDone}");
        (Stage, Best, Bad, EpochsDone) = (stage, best, bad, epochsDone);
    }
}
