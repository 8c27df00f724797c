using BayesPfl.Engine.Backends.Planning;
using BayesPfl.Engine.Data.Training;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;

namespace BayesPfl.Engine.Training;

/// <summary>
/// The device memory one training step needs, from the engine's own buffer plan: a <see cref="TrainStep"/> runs
/// on a <see cref="PlanningBackend"/> (allocations counted, nothing computed) with the CLIP weights, the head's
/// parameters, gradients and Adam moments resident, and the high-water mark of live buffers is read back.
/// Not counted: the CUDA context, cuBLAS workspaces and the loaded kernel modules (a few hundred MiB on a GPU).
/// </summary>
public static class TrainingMemoryPlan
{
    public sealed record Report(int Batch, long ClipWeightBytes, long HeadStateBytes, long PeakBytes, IReadOnlyList<(string Name, long Bytes)> LargestAtPeak)
    {
        /// <summary>Peak minus what stays resident between steps: the step's own activations and workspace.</summary>
        public long StepBytes => PeakBytes - ClipWeightBytes - HeadStateBytes;
    }

    public static Report Compute(ClipConfig clip, HeadConfig head, int batch, TrainingStage stage = TrainingStage.One)
    {
        var plan = new PlanningBackend();
        using var weights = ClipWeights.Uninitialized(plan, clip);
        var clipBytes = plan.LiveBytes;
        using var parameters = HeadParameters.Initialize(plan, head, seed: 0);
        var optimizer = new AdamOptimizer();
        foreach (var name in parameters.Names) optimizer.Add(name, parameters[name], parameters.Grad(name), 1e-3);
        var headBytes = plan.LiveBytes - clipBytes;
        using (var step = new TrainStep(plan, weights, parameters))
        {
            int s = clip.Vision.ImageSize;
            var batchData = new TrainBatch(new float[(long)batch * 3 * s * s], new float[(long)batch * s * s], new int[batch],
                Enumerable.Repeat("bottle", batch).ToArray(), new int[batch], s);
            step.Run(batchData, 0, new float[(batch + 2) * head.Embed], stage);
        }
        return new Report(batch, clipBytes, headBytes, plan.PeakBytes, plan.AtPeak);
    }
}
