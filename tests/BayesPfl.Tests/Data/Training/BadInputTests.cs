using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Training;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;
using static BayesPfl.Tests.Data.Training.TrainingData;

namespace BayesPfl.Tests.Data.Training;

public class BadInputTests
{
    /// <summary>Keeps the PNG signature and header chunk (so the header reads fine) and overwrites the compressed
    /// pixel data after the zlib header with bytes that are no valid deflate stream, then fixes the chunk's CRC
    /// (ImageSharp checks it while identifying), so that only decoding the pixels finds the damage.</summary>
    private static void CorruptPixelData(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var type = bytes.AsSpan().IndexOf("IDAT"u8);
        Assert.True(type > 4, $"{path}: no IDAT chunk");
        var length = (bytes[type - 4] << 24) | (bytes[type - 3] << 16) | (bytes[type - 2] << 8) | bytes[type - 1];
        Assert.True(length > 24, $"{path}: IDAT chunk of {length} bytes is too short to corrupt");
        bytes.AsSpan(type + 6, 16).Fill(0xFF);
        var crc = Crc32(bytes.AsSpan(type, 4 + length));
        for (var i = 0; i < 4; i++) bytes[type + 4 + length + i] = (byte)(crc >> (24 - 8 * i));
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>The PNG chunk CRC (ISO-HDLC: reflected polynomial 0xEDB88320, initial and final XOR all ones).</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    [Fact]
    public void AnImageWithABrokenHeaderIsLeftOutUpFrontWithAWarningNamingIt()
    {
        var root = Generate();
        var broken = Path.Combine(root, "fabric", "test", "good", "000.png");
        File.WriteAllBytes(broken, [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 1, 2, 3, 4, 5]);
        var set = Open(root, new TrainingSetOptions { DecodeCheck = false });
        Assert.Equal(23, set.Items.Count);
        Assert.DoesNotContain(set.Items, i => i.Sample.ImagePath == broken);
        Assert.Contains(set.Warnings, w => w.StartsWith("skipped " + broken, StringComparison.Ordinal));
    }

    [Fact]
    public void BrokenPixelDataIsCaughtByTheDecodeCheckOrSkippedDuringTraining()
    {
        var root = Generate();
        var broken = Path.Combine(root, "disc", "test", "hole", "000.png");
        CorruptPixelData(broken);
        var checkedSet = Open(root);
        Assert.Equal(23, checkedSet.Items.Count);
        Assert.Contains(checkedSet.Warnings, w => w.Contains(broken, StringComparison.Ordinal));

        // Header check only: the file is found broken when a batch needs it; that batch is one image short and
        // training goes on, the same on every epoch and on a resumed run.
        var set = Open(root, new TrainingSetOptions { DecodeCheck = false });
        Assert.Equal(24, set.Items.Count);
        using var loader = new TrainingLoader(set, Small with { Augment = false });
        var batches = loader.Epoch(0).ToList();
        Assert.Equal(23, batches.Sum(b => b.Count));
        Assert.Equal(5, batches.Count);
        var warning = Assert.Single(loader.Warnings, w => w.Contains(broken, StringComparison.Ordinal));
        Assert.StartsWith("skipped " + broken, warning);
        loader.Epoch(1).ToList();
        Assert.Single(loader.Warnings, w => w.Contains(broken, StringComparison.Ordinal)); // reported once, not per epoch
    }

    [Fact]
    public void AnAnomalousImageWithoutMaskIsAnErrorNamingItOrAnAllZeroMaskWhenAllowed()
    {
        var root = Generate();
        File.Delete(Path.Combine(root, "wood", "ground_truth", "crack", "000_mask.png"));
        var image = Path.Combine(root, "wood", "test", "crack", "000.png");
        var error = Assert.Throws<DatasetException>(() => Open(root, readerPolicy: MissingMaskPolicy.Warn));
        Assert.Contains(image, error.Message);
        Assert.Contains("1 anomalous training image(s) have no mask", error.Message);

        var set = Open(root, new TrainingSetOptions { MissingMask = MissingMaskPolicy.Warn }, MissingMaskPolicy.Warn);
        Assert.Contains(set.Warnings, w => w.StartsWith(image, StringComparison.Ordinal) && w.Contains("all-zero mask", StringComparison.Ordinal));
        using var loader = new TrainingLoader(set, Small with { Augment = false });
        var index = set.Items.ToList().FindIndex(i => i.Sample.ImagePath == image);
        var batch = loader.Epoch(0).Single(b => b.SampleIndices.Contains(index));
        var slot = Array.IndexOf(batch.SampleIndices, index);
        Assert.Equal(1, batch.Labels[slot]);
        Assert.All(batch.Masks.AsSpan(slot * 784, 784).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void EmptyDatasetsAndCategoriesAreClearErrorsBeforeTraining()
    {
        var data = DatasetReader.Open(Shared);
        var none = Assert.Throws<DatasetException>(() => TrainingSet.Open(data with { Categories = [] }));
        Assert.Contains("no categories", none.Message);
        var emptied = data with { Categories = [.. data.Categories.Select(c => c.Name == "wood" ? c with { Samples = [] } : c)] };
        var empty = Assert.Throws<DatasetException>(() => TrainingSet.Open(emptied));
        Assert.Contains("training category wood has no images", empty.Message);
    }

    [Fact]
    public void ACategoryWithNoReadableImageIsAnErrorNamingItAndItsFiles()
    {
        var root = Generate();
        var data = DatasetReader.Open(root);
        var bottle = data.Category("bottle");
        foreach (var s in bottle.Samples) File.WriteAllBytes(s.ImagePath, [1, 2, 3]);
        var error = Assert.Throws<DatasetException>(() => TrainingSet.Open(data));
        Assert.Contains("no readable training image left in category bottle", error.Message);
        Assert.Contains(bottle.Samples[0].ImagePath, error.Message);
    }

    [Fact]
    public void AMaskOfAnotherSizeIsResizedToItsImageWithAWarning()
    {
        var root = Generate();
        var mask = Path.Combine(root, "disc", "ground_truth", "stain", "000_mask.png");
        using (var small = new Image<L8>(16, 16, new L8(255))) small.SaveAsPng(mask);
        var set = Open(root);
        Assert.Contains(set.Warnings, w => w.StartsWith(mask, StringComparison.Ordinal) && w.Contains("16x16", StringComparison.Ordinal));
        using var loader = new TrainingLoader(set, Small with { Augment = false });
        var index = set.Items.ToList().FindIndex(i => i.Sample.MaskPath == mask);
        var batch = loader.Epoch(0).Single(b => b.SampleIndices.Contains(index));
        Assert.All(batch.Masks.AsSpan(Array.IndexOf(batch.SampleIndices, index) * 784, 784).ToArray(), v => Assert.Equal(1f, v));
    }
}
