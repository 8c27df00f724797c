using System.Diagnostics;
using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Data.Training;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;

namespace BayesPfl.Engine.Training;

/// <summary>
/// Times stage-1 training steps by phase on one backend: the image tower, the forward of the prompt flows and
/// the text tower, the head (its losses and their backward, interleaved layer by layer), and the text-tower and
/// flow backward. <see cref="Timing.StepOverForward"/> divides the whole step by the forward phases (image tower +
/// flows + text tower) measured in the same steps — the baseline the issue's "a step costs at most about three
/// forwards" is stated against (the head's own forward is left out of the denominator, so the ratio is an upper
/// bound). Weights are zero (real size, no checkpoint) or a random file; the numbers are timings only.
/// </summary>
public static class TrainingBenchmark
{
    public sealed record Timing(string Backend, int Batch, int Steps, double Vision, double Forward, double Head, double Backward)
    {
        public double Step => Vision + Forward + Head + Backward;

        public double StepOverForward => Step / (Vision + Forward);

        public double ImagesPerSecond => Batch * Steps / Step;
    }

    /// <summary>One untimed warm-up step, then <paramref name="steps"/> timed ones; seconds per phase summed over them.</summary>
    public static Timing Measure(IBackend backend, ClipWeights clip, HeadConfig head, int batch, int steps)
    {
        using var parameters = HeadParameters.Initialize(backend, head, seed: 1);
        using var step = new TrainStep(backend, clip, parameters);
        int s = clip.Config.Vision.ImageSize;
        var random = new GaussianNoise(2);
        var images = new float[(long)batch * 3 * s * s];
        random.Fill(images);
        var masks = new float[(long)batch * s * s];
        for (var i = 0; i < masks.Length; i++) masks[i] = i % 97 < 5 ? 1 : 0;
        var labels = Enumerable.Range(0, batch).Select(i => i % 2).ToArray();
        var data = new TrainBatch(images, masks, labels, Enumerable.Repeat("bottle", batch).ToArray(), new int[batch], s);
        var noise = new float[(batch + 2) * head.Embed];
        random.Fill(noise);

        var phases = new Dictionary<string, double>();
        var watch = new Stopwatch();
        step.Mark = phase =>
        {
            backend.Synchronize();
            phases[phase] = phases.GetValueOrDefault(phase) + watch.Elapsed.TotalSeconds;
            watch.Restart();
        };
        step.Run(data, 0, noise, TrainingStage.One);
        phases.Clear();
        for (var t = 0; t < steps; t++)
        {
            parameters.ZeroGrads();
            backend.Synchronize();
            watch.Restart();
            step.Run(data, t % head.Bank, noise, TrainingStage.One);
        }
        return new Timing(backend.Name, batch, steps, phases["vision"], phases["forward"], phases["head"], phases["backward"]);
    }
}
