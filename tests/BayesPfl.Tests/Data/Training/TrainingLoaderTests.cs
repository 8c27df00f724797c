using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Data.Training;
using Xunit;
using static BayesPfl.Tests.Data.Training.TrainingData;

namespace BayesPfl.Tests.Data.Training;

public class TrainingLoaderTests
{
    private static TrainingLoader Loader(TrainingLoaderOptions? options = null) => new(Open(Shared), options ?? Small);

    private static void AssertSame(TrainBatch a, TrainBatch b)
    {
        Assert.Equal(a.Images, b.Images); // float arrays compare element by element, exactly
        Assert.Equal(a.Masks, b.Masks);
        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(a.ClassNames, b.ClassNames);
        Assert.Equal(a.SampleIndices, b.SampleIndices);
    }

    [Fact]
    public void AnEpochHasCeilCountOverBatchBatchesWithASmallerLastOne()
    {
        using var loader = Loader();
        Assert.Equal(24, loader.Count);
        Assert.Equal(5, loader.BatchesPerEpoch);
        var batches = loader.Epoch(0).ToList();
        Assert.Equal([5, 5, 5, 5, 4], batches.Select(b => b.Count));
        Assert.Equal([0, 1, 2, 3, 4], batches.Select(b => b.Index));
        foreach (var b in batches)
        {
            Assert.Equal((b.Count * 3 * 28 * 28, b.Count * 28 * 28, 28), (b.Images.Length, b.Masks.Length, b.ImageSize));
            Assert.All(b.Masks, v => Assert.True(v is 0f or 1f, $"mask value {v}"));
            Assert.All(b.Images, v => Assert.True(float.IsFinite(v)));
        }
        using var eight = Loader(Small with { BatchSize = 8 });
        Assert.Equal([8, 8, 8], eight.Epoch(0).Select(b => b.Count));
    }

    [Fact]
    public void ABatchIsAPureFunctionOfSeedEpochAndIndex()
    {
        using var loader = Loader();
        var epoch = loader.Epoch(3).ToList();
        using var other = Loader();
        AssertSame(epoch[2], other.Batch(3, 2));
        // Resuming at batch 2 yields exactly the rest of the epoch.
        var resumed = other.Epoch(3, startBatch: 2).ToList();
        Assert.Equal(3, resumed.Count);
        for (var i = 0; i < 3; i++) AssertSame(epoch[2 + i], resumed[i]);
        Assert.NotEqual(loader.Order(3), loader.Order(4));
        Assert.Equal(loader.Order(3), other.Order(3));
        using var reseeded = Loader(Small with { Seed = 12 });
        Assert.NotEqual(loader.Order(3), reseeded.Order(3));
    }

    [Fact]
    public void ParallelWorkersGiveTheSequentialResult()
    {
        using var sequential = Loader(Small with { Workers = 1, Prefetch = 1 });
        using var parallel = Loader(Small with { Workers = 4, Prefetch = 2 });
        var a = sequential.Epoch(1).ToList();
        var b = parallel.Epoch(1).ToList();
        Assert.Equal(a.Count, b.Count);
        for (var i = 0; i < a.Count; i++) AssertSame(a[i], b[i]);
    }

    [Fact]
    public void WithoutAugmentationEachEpochVisitsEveryImageOnceWithTheSpec2Preprocessing()
    {
        using var loader = Loader(Small with { Augment = false });
        Assert.False(loader.MosaicEnabled);
        var batches = loader.Epoch(0).ToList();
        var visited = batches.SelectMany(b => b.SampleIndices).ToList();
        Assert.Equal(Enumerable.Range(0, 24), visited.Order());
        Assert.Equal(loader.Order(0), visited);
        var first = batches[0];
        var item = loader.Set.Items[first.SampleIndices[0]];
        Assert.Equal(ClipPreprocess.LoadImage(item.Sample.ImagePath, 28), first.Images[..(3 * 28 * 28)]);
        Assert.Equal(item.Sample.Label, first.Labels[0]);
        Assert.Equal(item.PromptName, first.ClassNames[0]);
        var anomalous = batches.SelectMany(b => Enumerable.Range(0, b.Count).Select(i => (b, i))).First(x => x.b.Labels[x.i] == 1);
        var sample = loader.Set.Items[anomalous.b.SampleIndices[anomalous.i]].Sample;
        Assert.Equal(ClipPreprocess.LoadMask(sample.MaskPath!, 28), anomalous.b.Masks.AsSpan(anomalous.i * 28 * 28, 28 * 28).ToArray());
        Assert.All(batches.SelectMany(b => Enumerable.Range(0, b.Count).Where(i => b.Labels[i] == 0).Select(i => b.Masks.AsSpan(i * 784, 784).ToArray())),
                   m => Assert.All(m, v => Assert.Equal(0f, v)));
    }

    [Fact]
    public void MosaicIsOnForMvTecLayoutAndGivesAnomalousSamplesOfTheSameCategory()
    {
        using var auto = Loader();
        Assert.True(auto.MosaicEnabled);
        // 64 px, so that a 32 px tile's smallest defect (6 pixels) still covers a pixel after the mosaic's shrink.
        using var always = Loader(Small with { ImageSize = 64, Augmentations = AugmentOptions.None with { Mosaic = 1 } });
        var batch = always.Batch(0, 0);
        Assert.All(batch.SampleIndices, i => Assert.Equal(-1, i));
        Assert.All(batch.Labels, l => Assert.Equal(1, l));
        // The class names are still those of the slots' own samples: the mosaic keeps the category.
        var order = always.Order(0);
        Assert.Equal(order.Take(5).Select(i => always.Set.Items[i].PromptName), batch.ClassNames);
        for (var i = 0; i < batch.Count; i++) Assert.Contains(1f, batch.Masks.AsSpan(i * 4096, 4096).ToArray());
        using var never = Loader(Small with { Mosaic = false, Augmentations = AugmentOptions.None with { Mosaic = 1 } });
        Assert.DoesNotContain(-1, never.Batch(0, 0).SampleIndices);
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        using var loader = Loader();
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Epoch(0, startBatch: 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.Batch(0, 5));
        Assert.Empty(loader.Epoch(0, startBatch: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainingLoader(loader.Set, Small with { BatchSize = 0 }));
        loader.Dispose();
        Assert.Throws<ObjectDisposedException>(() => loader.Epoch(0));
    }

    [Fact]
    public void StoppingAnEpochEarlyStopsItsProducer()
    {
        using var loader = Loader(Small with { BatchSize = 1, Prefetch = 1 });
        var first = loader.Epoch(0).Take(2).ToList();
        Assert.Equal(2, first.Count);
        AssertSame(first[1], loader.Batch(0, 1));
    }
}
