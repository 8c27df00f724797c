using System.Collections.Concurrent;
using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Images;

namespace BayesPfl.Engine.Data.Training;

public sealed record TrainingLoaderOptions
{
    public int BatchSize { get; init; } = 32;

    public int ImageSize { get; init; } = ClipPreprocess.DefaultSize;

    public ulong Seed { get; init; } = 333;

    /// <summary>The augmentations of spec 9.6 (train mode); off gives the plain preprocessing of spec 2.</summary>
    public bool Augment { get; init; } = true;

    /// <summary>The 2x2 mosaic; null = on exactly when augmenting an MVTec-layout set (spec 9.6, 14.16).</summary>
    public bool? Mosaic { get; init; }

    public AugmentOptions Augmentations { get; init; } = AugmentOptions.Default;

    /// <summary>Threads that decode and augment the images of a batch.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Finished batches kept ready ahead of the consumer (each is ~140 MB at 32 x 518 px), so the GPU work
    /// overlaps the next batch's decoding without holding a whole epoch in memory.</summary>
    public int Prefetch { get; init; } = 2;
}

/// <summary>
/// Turns a <see cref="TrainingSet"/> into batches: a seeded shuffle per epoch, then per slot (position p of the
/// epoch's order) decode, mosaic, augmentation and CLIP preprocessing, all random choices drawn from
/// <see cref="AugmentRandom"/>(seed, epoch, p). A batch is therefore a pure function of (seed, epoch, batch index):
/// the same on any thread count, and rebuilt exactly when a run resumes at a batch. Epochs have
/// ceil(count / batch size) batches, the last one smaller (PyTorch's DataLoader without drop_last).
/// </summary>
public sealed class TrainingLoader : IDisposable
{
    private readonly TrainingSet set;
    private readonly TrainingLoaderOptions options;
    private readonly CancellationTokenSource disposed = new();
    private readonly List<string> loadWarnings = [];
    private readonly HashSet<string> warned = [];

    public TrainingLoader(TrainingSet set, TrainingLoaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(set);
        this.set = set;
        this.options = options ??= new TrainingLoaderOptions();
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "batch size must be at least 1");
        if (options.ImageSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.ImageSize, "image size must be at least 1");
        if (set.Items.Count == 0) throw new DatasetException($"{set.Dataset.Root}: nothing to train on");
        MosaicEnabled = options.Mosaic ?? (options.Augment && set.Dataset.Layout == DatasetLayout.MvTec);
    }

    public int Count => set.Items.Count;

    public int BatchesPerEpoch => (Count + options.BatchSize - 1) / options.BatchSize;

    public bool MosaicEnabled { get; }

    public TrainingSet Set => set;

    /// <summary>The training set's warnings, then one per file that failed to load during training (in the order
    /// they were met).</summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            lock (loadWarnings) return [.. set.Warnings, .. loadWarnings];
        }
    }

    /// <summary>The epoch's order: item indices by position.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, Count).ToArray();
        new AugmentRandom(options.Seed, epoch, AugmentRandom.ShufflePosition).Shuffle(order.AsSpan());
        return order;
    }

    /// <summary>Builds one batch now, on the calling thread plus the workers.</summary>
    public TrainBatch Batch(int epoch, int batchIndex)
    {
        CheckBatch(batchIndex, BatchesPerEpoch - 1);
        return Build(Order(epoch), epoch, batchIndex, disposed.Token);
    }

    /// <summary>The batches of an epoch from <paramref name="startBatch"/> on, built by a background producer at most
    /// <see cref="TrainingLoaderOptions.Prefetch"/> batches ahead. Stopping early (or disposing the loader) stops it.</summary>
    public IEnumerable<TrainBatch> Epoch(int epoch, int startBatch = 0)
    {
        ObjectDisposedException.ThrowIf(disposed.IsCancellationRequested, this);
        CheckBatch(startBatch, BatchesPerEpoch);
        return Produce(epoch, startBatch);
    }

    private IEnumerable<TrainBatch> Produce(int epoch, int startBatch)
    {
        var order = Order(epoch);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(disposed.Token);
        using var queue = new BlockingCollection<TrainBatch>(Math.Max(1, options.Prefetch));
        var producer = Task.Run(() =>
        {
            try
            {
                for (var b = startBatch; b < BatchesPerEpoch; b++) queue.Add(Build(order, epoch, b, stop.Token), stop.Token);
            }
            finally
            {
                queue.CompleteAdding();
            }
        });
        try
        {
            foreach (var batch in queue.GetConsumingEnumerable(stop.Token)) yield return batch;
            producer.GetAwaiter().GetResult();
        }
        finally
        {
            stop.Cancel();
            try
            {
                producer.Wait();
            }
            catch (AggregateException)
            {
                // Cancelled on purpose, or already rethrown above.
            }
        }
    }

    private TrainBatch Build(int[] order, int epoch, int batchIndex, CancellationToken token)
    {
        var first = batchIndex * options.BatchSize;
        var n = Math.Min(options.BatchSize, Count - first);
        int s = options.ImageSize, plane = 3 * s * s, area = s * s;
        var images = new float[n * plane];
        var masks = new float[n * area];
        var slots = new (int Label, string Name, int Index)?[n];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Workers), CancellationToken = token };
        Parallel.For(0, n, parallel, i => slots[i] = Prepare(order, epoch, first + i, images.AsSpan(i * plane, plane), masks.AsSpan(i * area, area)));
        var kept = Enumerable.Range(0, n).Where(i => slots[i] is not null).ToList();
        if (kept.Count < n)
        {
            // Close the gaps left by unreadable images, keeping the slots' order.
            for (var k = 0; k < kept.Count; k++)
            {
                Array.Copy(images, kept[k] * plane, images, k * plane, plane);
                Array.Copy(masks, kept[k] * area, masks, k * area, area);
            }
            Array.Resize(ref images, kept.Count * plane);
            Array.Resize(ref masks, kept.Count * area);
        }
        return new TrainBatch(images, masks, [.. kept.Select(i => slots[i]!.Value.Label)], [.. kept.Select(i => slots[i]!.Value.Name)],
                              [.. kept.Select(i => slots[i]!.Value.Index)], s)
        { Epoch = epoch, Index = batchIndex };
    }

    /// <summary>One slot: its sample (or a mosaic), augmented and preprocessed into the batch; null when a file
    /// could not be read (a warning names it).</summary>
    private (int Label, string Name, int Index)? Prepare(int[] order, int epoch, int position, Span<float> image, Span<float> mask)
    {
        var rng = new AugmentRandom(options.Seed, epoch, position);
        var index = order[position];
        var item = set.Items[index];
        var pool = set.AnomalousByCategory[item.Category];
        (Image8 Image, Image8 Mask)? pair;
        var label = item.Sample.Label;
        if (MosaicEnabled && rng.Chance(options.Augmentations.Mosaic) && pool.Count > 0)
        {
            var picks = new int[4];
            for (var t = 0; t < picks.Length; t++) picks[t] = pool[rng.Int(0, pool.Count - 1)];
            var tiles = picks.Select(t => Load(set.Items[t])).ToList();
            pair = tiles.All(t => t is not null) ? Mosaic.Compose([.. tiles.Select(t => t!.Value)]) : null;
            (label, index) = (1, -1);
        }
        else
        {
            pair = Load(item);
        }
        if (pair is not { } loaded) return null;
        var (rgb, gray) = options.Augment ? Augmenter.Apply(loaded.Image, loaded.Mask, rng, options.Augmentations) : loaded;
        ClipPreprocess.Normalize(ClipPreprocess.ResizeImage(rgb, options.ImageSize), image);
        ClipPreprocess.BinarizeMask(gray, options.ImageSize).CopyTo(mask);
        return (label, item.PromptName, index);
    }

    private (Image8 Image, Image8 Mask)? Load(TrainingItem item)
    {
        var sample = item.Sample;
        var file = sample.ImagePath;
        try
        {
            var image = ImageFile.LoadRgb(file);
            if (sample.MaskPath is null) return (image, MaskOps.Empty(image.Width, image.Height, file));
            file = sample.MaskPath;
            return (image, MaskOps.Fit(MaskOps.Load(file), image.Width, image.Height));
        }
        catch (Exception e) when (TrainingSet.IsBadFile(e))
        {
            var warning = TrainingSet.SkipMessage(sample.ImagePath, file, e);
            lock (loadWarnings)
                if (warned.Add(warning)) loadWarnings.Add(warning);
            return null;
        }
    }

    private void CheckBatch(int batch, int max)
    {
        if (batch < 0 || batch > max) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch index must be 0..{max} ({BatchesPerEpoch} batches per epoch)");
    }

    /// <summary>Stops any epoch in progress; its enumeration then ends with an OperationCanceledException.</summary>
    public void Dispose() => disposed.Cancel();
}
