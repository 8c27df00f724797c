using BayesPfl.Engine.Data.Training;

namespace BayesPfl.Engine.Training;

/// <summary>
/// The training batches the <see cref="Trainer"/> consumes, epoch by epoch. An implementation must be
/// deterministic in (epoch, batch): a resumed run asks for the epoch it resumes at and must see the same batches
/// an uninterrupted run saw (the data loader keys its shuffle and augmentation on the epoch, as the trainer keys
/// its noise on the step).
/// </summary>
public interface IBatchSource
{
    int BatchesPerEpoch { get; }

    /// <summary>The batches of <paramref name="epoch"/> (0-based) from batch <paramref name="startBatch"/> on.</summary>
    IEnumerable<TrainBatch> Epoch(int epoch, int startBatch);
}
