using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Tensors;
using BayesPfl.Engine.Text;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Model;

public sealed class RandomClipTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("randomclip-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void TinyFileLoadsLikeAConvertedCheckpointAndBothTowersRunFinite()
    {
        var path = Path.Combine(dir, "tiny.safetensors");
        RandomClip.Write(path, RandomClip.Tiny, seed: 7);
        Assert.Empty(Directory.GetFiles(dir, ".*tmp*"));

        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(RandomClip.Tiny, ClipWeights.ReadConfig(file));
        Assert.Equal("7", file.Metadata[RandomClip.SeedKey]);
        using var backend = TestBackends.Cpu();
        using var weights = ClipWeights.Load(file, backend);

        var cfg = weights.Config.Vision;
        var taps = HeadFile.TapLayers(cfg.Layers, 4);
        Assert.Equal(4, taps.Distinct().Count());
        using var vision = new VisionTower(backend, weights);
        using var images = backend.Allocate(new Shape(2, 3, cfg.ImageSize, cfg.ImageSize), "images");
        var pixels = new float[images.Length];
        new Engine.Model.Head.GaussianNoise(1).Fill(pixels);
        backend.Upload(images, pixels);
        using var features = vision.Encode(images, taps);
        AssertFinite("global", backend, features.Global);
        foreach (var t in features.Taps) AssertFinite("tap", backend, t);

        // Real BPE ids (49406/49407 and word pieces) index the full-vocabulary table.
        using var text = new TextTower(backend, weights);
        var ids = ClipTokenizer.Default.Tokenize("a photo of a damaged bottle");
        using var embedded = text.Encode(ids);
        AssertFinite("text", backend, embedded);
        Assert.Equal([1, weights.Config.EmbedDim], embedded.Shape.Dims.ToArray());
    }

    [Fact]
    public void SeedNamesOneFileAndWeightsHaveTheirInitScales()
    {
        var config = RandomClip.Tiny with { Text = RandomClip.Tiny.Text with { VocabSize = 500 } };
        string a = Path.Combine(dir, "a"), b = Path.Combine(dir, "b"), c = Path.Combine(dir, "c");
        RandomClip.Write(a, config, 3);
        RandomClip.Write(b, config, 3);
        RandomClip.Write(c, config, 4);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));

        using var file = SafeTensorsFile.Open(a);
        var block = ClipTensorNames.VisualBlock(2);
        Assert.All(file.ReadFloats(block + ClipTensorNames.Block.Ln1Weight), v => Assert.Equal(1f, v));
        Assert.All(file.ReadFloats(block + ClipTensorNames.Block.Ln1Bias), v => Assert.Equal(0f, v));
        Assert.All(file.ReadFloats(block + ClipTensorNames.Block.FcBias), v => Assert.Equal(0f, v));
        // 12288 (in-proj, 64^-0.5) and 16384 (c_fc, 128^-0.5) draws: the sample std is within ~1% of the
        // target; 5% leaves room while still catching a wrong formula (the nearest alternative is 41% off).
        Assert.Equal(1 / Math.Sqrt(64), Std(file.ReadFloats(block + ClipTensorNames.Block.InProjWeight)), 1 / Math.Sqrt(64) * 0.05);
        Assert.Equal(1 / Math.Sqrt(128), Std(file.ReadFloats(block + ClipTensorNames.Block.FcWeight)), 1 / Math.Sqrt(128) * 0.05);
        Assert.Equal(0.02, Std(file.ReadFloats(ClipTensorNames.TokenEmbedding)), 0.02 * 0.05);
    }

    private static double Std(float[] v)
    {
        var mean = v.Average(x => (double)x);
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length);
    }

    private static void AssertFinite(string what, Engine.Backends.IBackend backend, Tensor t)
    {
        var v = new float[t.Length];
        backend.Download(t, v);
        Assert.All(v, x => Assert.True(float.IsFinite(x), $"{what}: {x}"));
        Assert.Contains(v, x => x != 0);
    }
}
