namespace BayesPfl.Engine.Training;

/// <summary>Settings of a <see cref="Trainer"/> run.</summary>
public sealed record TrainerOptions
{
    /// <summary>Folder for checkpoints/epoch_{e}.safetensors, best.head.safetensors, final.head.safetensors, train-log.jsonl.</summary>
    public required string OutDir { get; init; }

    /// <summary>Keys every random draw (bank index, flow noise, validation samples).</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// A cap on the epochs run in total (both stages). It only stops early: the learning-rate schedule still spans
    /// <see cref="LrSchedule.Epochs"/> epochs and <see cref="StageControl"/>'s own limit of 30 stays in force, so a
    /// capped run follows exactly the first epochs of an uncapped one.
    /// </summary>
    public int MaxEpochs { get; init; } = StageControl.MaxEpochs;

    /// <summary>
    /// Multiplies every base learning rate (1 = spec 9.4). The spec's rates are tuned for ViT-L/14 and 30 epochs of
    /// ~60 steps; a tiny model trained for a few minutes (the demo) needs larger steps to move in that time.
    /// </summary>
    public double LrScale { get; init; } = 1;

    /// <summary>The CLIP engine file the head trains with; recorded in the head files so `--model HEAD` finds it.</summary>
    public string? ClipFile { get; init; }

    /// <summary>Progress after every optimiser step (for bars and logs).</summary>
    public Action<TrainerStep>? OnStep { get; init; }

    /// <summary>Called after every epoch's validation, stage decision and checkpoint.</summary>
    public Action<TrainerEpoch>? OnEpoch { get; init; }
}

/// <summary>One optimiser step: the loss terms, the learning rate (the prompt group's in stage 1, the others scale with it; stage 2's constant one), throughput and an ETA
/// assuming every remaining epoch of the cap runs (an upper bound: early stopping ends sooner).</summary>
public sealed record TrainerStep(int Epoch, int Batch, int BatchesPerEpoch, long GlobalStep, TrainingStage Stage, int BankIndex,
    StepLosses Losses, double Lr, double ImagesPerSecond, TimeSpan Eta);

/// <summary>One finished epoch: its validation, the stage decision, where its checkpoint went.</summary>
public sealed record TrainerEpoch(int Epoch, TrainingStage Stage, ValidationMetrics Metrics, EpochAction Action, double MeanLoss,
    string Checkpoint, TimeSpan Elapsed);

/// <summary>What a finished run leaves: the best head (its stage) and the final model file, which is that head.</summary>
public sealed record TrainerResult(int Epochs, long Steps, TrainingStage BestStage, ValidationMetrics? BestMetrics, string BestHead, string FinalHead);
