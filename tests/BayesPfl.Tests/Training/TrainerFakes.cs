using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Data.Training;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Training;

namespace BayesPfl.Tests.Training;

/// <summary>
/// A stand-in for the real training step: loss = Σ_w ½(w − t)² with a target t that depends on the batch's
/// pixels and labels, the bank index and the noise, so its gradient (w − t, accumulated) moves the parameters
/// differently every step and any difference in data, draws or state shows up in the losses. Stage 2 touches
/// only the stage-2 modules, as the real step does.
/// </summary>
internal sealed class FakeStep : ITrainStep
{
    public static readonly HeadConfig Tiny = new() { Embed = 8, Hidden = 4, VisionWidth = 3, Steps = 2, Bank = 3, Tokens = 2, FuseHidden = 5, RcaHeads = 2 };

    public FakeStep(IBackend backend, ulong initSeed, HeadConfig? config = null) => Parameters = HeadParameters.Initialize(backend, config ?? Tiny, initSeed);

    public HeadParameters Parameters { get; }

    public List<(int Bank, int Images)> Calls { get; } = new();

    public StepLosses Run(TrainBatch batch, int bankIndex, ReadOnlySpan<float> noise, TrainingStage stage)
    {
        if (noise.Length != (batch.Count + 2) * Parameters.Config.Embed) throw new ArgumentException($"noise has {noise.Length} values");
        Calls.Add((bankIndex, batch.Count));
        var pixels = batch.Images.Average() + batch.Labels.Sum();
        double loss = 0;
        var j = 0;
        foreach (var name in Parameters.Names)
        {
            if (stage == TrainingStage.Two && !ParamGroups.InStageTwo(name)) continue;
            var w = Download(Parameters[name]);
            var g = Download(Parameters.Grad(name));
            for (var i = 0; i < w.Length; i++, j++)
            {
                var target = 0.1f * (float)pixels + 0.05f * bankIndex + 0.01f * noise[j % noise.Length];
                var d = w[i] - target;
                loss += 0.5 * d * d;
                g[i] += d;
            }
            Parameters.Backend.Upload(Parameters.Grad(name), g);
        }
        return stage == TrainingStage.One ? new StepLosses(0, [loss], [0], 0, 0) : new StepLosses(loss, [0], [0], 0, 0);
    }

    public static float[] Download(Engine.Tensors.Tensor t)
    {
        var data = new float[t.Length];
        t.Backend.Download(t, data);
        return data;
    }

    public void Dispose() => Parameters.Dispose();
}

/// <summary>Batches that are a pure function of (epoch, batch); optionally throws at one (epoch, batch) to simulate a kill,
/// or gives an empty batch at one (all its images unreadable).</summary>
internal sealed class FakeBatches(int batchesPerEpoch, (int Epoch, int Batch)? killAt = null, (int Epoch, int Batch)? emptyAt = null) : IBatchSource
{
    public int BatchesPerEpoch => batchesPerEpoch;

    public IEnumerable<TrainBatch> Epoch(int epoch, int startBatch)
    {
        for (var b = startBatch; b < batchesPerEpoch; b++)
        {
            if (killAt == (epoch, b)) throw new SimulatedKill($"killed in epoch {epoch} at batch {b}");
            var n = emptyAt == (epoch, b) ? 0 : 1 + (epoch + b) % 2;
            var images = Enumerable.Range(0, n * 3 * 4 * 4).Select(i => (float)Math.Sin(i + 7 * epoch + 3 * b)).ToArray();
            yield return new TrainBatch(images, new float[n * 4 * 4], Enumerable.Range(0, n).Select(i => (i + b) % 2).ToArray(),
                Enumerable.Repeat("thing", n).ToArray(), Enumerable.Range(0, n).ToArray(), 4);
        }
    }
}

internal sealed class SimulatedKill(string message) : Exception(message);

/// <summary>
/// Validation from a script (the metric per epoch decides the stage logic) plus a 1e-9-scale checksum of the
/// parameters, so that the returned value still depends on the state being validated (a resumed run that got
/// the parameters wrong reports different metrics) without changing any decision of the script, whose steps are
/// 1e-2 apart. Without the checksum the script's values come back exactly (for ties).
/// </summary>
internal sealed class ScriptedValidator(double[] pixelAp, double[] imageAp, bool checksum = true) : IValidator
{
    public List<(int Epoch, TrainingStage Stage)> Calls { get; } = new();

    public ValidationMetrics Validate(HeadParameters parameters, TrainingStage stage, int epoch)
    {
        Calls.Add((epoch, stage));
        var sum = parameters.Names.Sum(n => FakeStep.Download(parameters[n]).Sum(v => (double)v));
        var tiny = checksum ? 1e-9 * Math.Tanh(sum) : 0;
        return new ValidationMetrics(pixelAp[epoch] + tiny, imageAp[epoch] + tiny);
    }
}
