using System.Diagnostics;

namespace BayesPfl.Engine.Training;

/// <summary>
/// The training loop of spec 9. Per step: zero the gradients, draw b* and the flow noise keyed by (seed, global
/// step) (<see cref="TrainerRng"/>), run the step (forward, backward: gradients accumulate into the parameters),
/// one Adam update. Stage 1 uses the four groups of 9.4 at base lr · the warm-up/cosine multiplier (LambdaLR
/// stepping, <see cref="LrSchedule"/>); stage 2 a fresh Adam over class_mapping, image_mapping and fuse at a
/// constant 1e-4 (9.3). After every epoch: validation, <see cref="StageControl"/>, then
/// SaveBest (snapshot + best.head.safetensors), RestoreBestAndStartStageTwo (snapshot back, new optimiser) or
/// Stop, and a checkpoint (<see cref="TrainerCheckpoint"/>) holding everything the next epoch depends on, so
/// <see cref="Resume"/> continues bit-identically and a killed run loses at most the epoch it was in.
/// The final model file is the best snapshot written as a head file of the stage it was taken in.
/// </summary>
public sealed class Trainer : IDisposable
{
    public const string CheckpointFolder = "checkpoints", BestHeadName = "best.head.safetensors",
        FinalHeadName = "final.head.safetensors", LogName = "train-log.jsonl";

    private readonly ITrainStep step;
    private readonly IBatchSource data;
    private readonly IValidator validator;
    private readonly TrainerOptions options;
    private readonly LrSchedule schedule;
    private readonly StageControl control = new();
    private AdamOptimizer opt;
    private long globalStep;
    private int startEpoch;
    private bool finished;
    private Dictionary<string, float[]>? best;
    private TrainingStage bestStage = TrainingStage.One;
    private ValidationMetrics? bestMetrics;

    public Trainer(ITrainStep step, IBatchSource data, IValidator validator, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.LrScale > 0) || double.IsInfinity(options.LrScale))
            throw new ArgumentOutOfRangeException(nameof(options), options.LrScale, "the learning-rate scale must be a positive number");
        if (options.MaxEpochs is < 1 or > StageControl.MaxEpochs)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxEpochs, $"epochs must be 1..{StageControl.MaxEpochs}");
        (this.step, this.data, this.validator, this.options) = (step, data, validator, options);
        schedule = new LrSchedule(data.BatchesPerEpoch);
        opt = NewOptimizer(TrainingStage.One);
    }

    private HeadParameters P => step.Parameters;

    public static string CheckpointPath(string outDir, int epoch) => Path.Combine(outDir, CheckpointFolder, $"epoch_{epoch}.safetensors");

    /// <summary>Continues from a checkpoint this trainer's configuration wrote (same seed, same batches per epoch).</summary>
    public void Resume(string path)
    {
        var s = TrainingCheckpoint.Load(path);
        var c = TrainerCounters.FromBytes(s.Rng, path);
        if (c.Seed != options.Seed)
            throw new InvalidDataException($"{path}: written by a run with seed {c.Seed}, this run has seed {options.Seed}; resume with the same seed");
        if (c.BatchesPerEpoch != data.BatchesPerEpoch)
            throw new InvalidDataException($"{path}: written with {c.BatchesPerEpoch} batches per epoch, the data now gives {data.BatchesPerEpoch}; resume with the same dataset and batch size");
        P.FromHost(TrainerCheckpoint.Values(s, P, "param/", path));
        best = c.BestMetrics is null ? null : TrainerCheckpoint.Values(s, P, "best/", path);
        (bestStage, bestMetrics, globalStep, startEpoch) = (c.BestStage, c.BestMetrics, c.GlobalStep, s.EpochsDone);
        finished = s.Stage == TrainingStage.Done;
        if (finished) return;
        control.Restore(s.Stage, s.Best, s.Bad, s.EpochsDone);
        Replace(NewOptimizer(s.Stage));
        TrainerCheckpoint.RestoreMoments(s, opt, path);
    }

    public TrainerResult Run(CancellationToken cancel = default)
    {
        Directory.CreateDirectory(options.OutDir);
        using var log = new TrainerLog(Path.Combine(options.OutDir, LogName));
        var epoch = startEpoch;
        for (; !finished && control.EpochsDone < options.MaxEpochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var stage = control.Stage;
            var meanLoss = RunEpoch(epoch, stage, log, cancel);
            var metrics = validator.Validate(P, stage, epoch);
            var metric = metrics.For(stage);
            if (!double.IsFinite(metric))
                throw new InvalidOperationException($"validation after epoch {epoch}: {(stage == TrainingStage.One ? "pixel AP" : "image AP")} is undefined ({metric}); the validation set needs normal and anomalous images with masks");
            var action = control.OnEpoch(metric);
            switch (action)
            {
                case EpochAction.SaveBest:
                    best = P.ToHost();
                    (bestStage, bestMetrics) = (stage, metrics);
                    P.SaveHeadFile(Path.Combine(options.OutDir, BestHeadName), stage, options.ClipFile);
                    break;
                case EpochAction.RestoreBestAndStartStageTwo:
                    P.FromHost(best!);
                    Replace(NewOptimizer(TrainingStage.Two));
                    break;
            }
            finished = control.Stage == TrainingStage.Done;
            var checkpoint = CheckpointPath(options.OutDir, epoch);
            TrainingCheckpoint.Save(checkpoint, TrainerCheckpoint.Capture(P, opt, control,
                new TrainerCounters(options.Seed, globalStep, data.BatchesPerEpoch, bestStage, bestMetrics), best));
            var summary = new TrainerEpoch(epoch, stage, metrics, action, meanLoss, checkpoint, clock.Elapsed);
            log.Epoch(summary);
            options.OnEpoch?.Invoke(summary);
        }
        if (best is null) throw new InvalidOperationException("training ran no epoch, so there is no best head to write");
        P.FromHost(best);
        var final = Path.Combine(options.OutDir, FinalHeadName);
        P.SaveHeadFile(final, bestStage, options.ClipFile);
        return new TrainerResult(epoch, globalStep, bestStage, bestMetrics, Path.Combine(options.OutDir, BestHeadName), final);
    }

    /// <summary>One pass over the epoch's batches; returns the mean total loss.</summary>
    private double RunEpoch(int epoch, TrainingStage stage, TrainerLog log, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        long images = 0;
        int batch = 0, steps = 0;
        foreach (var b in data.Epoch(epoch, 0))
        {
            cancel.ThrowIfCancellationRequested();
            batch++;
            // Every image of the batch was unreadable (the loader warned): no step, no draw, nothing to learn from.
            if (b.Count == 0) continue;
            P.ZeroGrads();
            var bank = TrainerRng.BankIndex(options.Seed, globalStep, P.Config.Bank);
            var noise = TrainerRng.Noise(options.Seed, globalStep, b.Count, P.Config.Embed);
            var losses = step.Run(b, bank, noise, stage);
            if (!double.IsFinite(losses.Total))
                throw new InvalidOperationException($"epoch {epoch}, batch {batch - 1} (global step {globalStep}): the loss is {losses.Total}; training diverged");
            var lr = stage == TrainingStage.One ? schedule.ForUpdate(globalStep + 1) : 1.0;
            opt.Update(lr);
            globalStep++;
            lossSum += losses.Total;
            steps++;
            images += b.Count;
            var seconds = clock.Elapsed.TotalSeconds;
            var remaining = (long)(options.MaxEpochs - control.EpochsDone) * data.BatchesPerEpoch - batch;
            var info = new TrainerStep(epoch, batch - 1, data.BatchesPerEpoch, globalStep, stage, bank, losses,
                options.LrScale * (stage == TrainingStage.One ? lr * ParamGroups.BaseLr(ParamGroup.Prompts) : ParamGroups.StageTwoLr),
                images / Math.Max(seconds, 1e-9), TimeSpan.FromSeconds(seconds / steps * remaining));
            log.Step(info);
            options.OnStep?.Invoke(info);
        }
        if (batch != data.BatchesPerEpoch)
            throw new InvalidOperationException($"epoch {epoch} gave {batch} batches, the data source promised {data.BatchesPerEpoch}");
        return steps == 0 ? double.NaN : lossSum / steps;
    }

    /// <summary>Frees the moments of the optimiser being replaced (device memory on a GPU backend).</summary>
    private void Replace(AdamOptimizer next)
    {
        foreach (var slot in opt.Slots)
        {
            slot.M.Dispose();
            slot.V.Dispose();
        }
        opt = next;
    }

    private AdamOptimizer NewOptimizer(TrainingStage stage) => Optimizer(P, stage, options.LrScale);

    /// <summary>
    /// Stage 1: every parameter in its group of 9.4; stage 2: class_mapping, image_mapping, fuse at 1e-4 (multiplier
    /// 1). Every base learning rate is multiplied by <paramref name="lrScale"/> (1 = the spec).
    /// </summary>
    public static AdamOptimizer Optimizer(HeadParameters p, TrainingStage stage, double lrScale = 1)
    {
        var o = new AdamOptimizer();
        foreach (var name in p.Names)
        {
            if (stage == TrainingStage.One) o.Add(name, p[name], p.Grad(name), lrScale * ParamGroups.BaseLr(ParamGroups.Of(name)));
            else if (ParamGroups.InStageTwo(name)) o.Add(name, p[name], p.Grad(name), lrScale * ParamGroups.StageTwoLr);
        }
        return o;
    }

    /// <summary>Frees the optimiser's moments; the step and its parameters belong to the caller.</summary>
    public void Dispose() => Replace(new AdamOptimizer());
}
