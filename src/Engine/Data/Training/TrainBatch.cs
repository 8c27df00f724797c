namespace BayesPfl.Engine.Data.Training;

/// <summary>
/// One training batch of N images, ready for the engine: Images [N,3,H,H] CLIP-preprocessed (spec 2, after the
/// augmentations of 9.6), Masks [N,H,H] with values 0 or 1 at the same resolution (the maps are H x H),
/// Labels [N] (0 normal, 1 anomalous), ClassNames [N] (the prompt names of spec 4.3, already renamed),
/// SampleIndices [N] (positions in the training list, −1 for a mosaic) for logs and error messages.
/// </summary>
public sealed record TrainBatch(float[] Images, float[] Masks, int[] Labels, string[] ClassNames, int[] SampleIndices, int ImageSize)
{
    public int Count => Labels.Length;

    /// <summary>The epoch this batch belongs to (as the loader was asked for it).</summary>
    public int Epoch { get; init; }

    /// <summary>The batch's index within its epoch; N is smaller than the batch size for the last batch, or when
    /// images of it could not be read (0 when none could: the trainer skips such a batch).</summary>
    public int Index { get; init; }
}
