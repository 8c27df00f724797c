using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Synthetic;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Training;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>
/// The real per-epoch validation (a detector over the frozen CLIP and a view of the parameters being trained) on
/// a random-weight tiny CLIP and generated data, and the trainer's final file loaded by the inference path.
/// </summary>
public sealed class TrainerValidationTests : IDisposable
{
    private static readonly ClipConfig Clip = RandomClip.Tiny with { Vision = RandomClip.Tiny.Vision with { ImageSize = 56 } };

    private static readonly HeadConfig Head = new() { Embed = Clip.EmbedDim, VisionWidth = Clip.Vision.Width, Hidden = 32, FuseHidden = 32 };

    private readonly string dir = Repo.TempDir("trainer-validation");
    private readonly string clipPath;
    private readonly IReadOnlyList<DatasetCategory> categories;

    public TrainerValidationTests()
    {
        clipPath = Path.Combine(dir, "clip.safetensors");
        RandomClip.Write(clipPath, Clip, seed: 3);
        var data = Path.Combine(dir, "data");
        SyntheticDataset.Generate(data, new SyntheticOptions { Seed = 1, Size = 56, PerCategory = 1, Groups = ["B"] });
        categories = DatasetReader.Open(data, DatasetLayout.MvTec, new DatasetOptions { Categories = ["grid", "nut"] }).Categories;
    }

    [Fact]
    public void ValidationIsAPureFunctionOfParametersStageAndEpoch()
    {
        using var backend = TestBackends.Cpu();
        using var file = SafeTensorsFile.Open(clipPath);
        using var clip = ClipWeights.Load(file, backend);
        using var p = HeadParameters.Initialize(backend, Head, 9);
        var validation = new ValidationSet(clip, categories, seed: 42);

        var first = validation.Validate(p, TrainingStage.One, 0);
        Assert.InRange(first.PixelAp, 0, 1);
        Assert.InRange(first.ImageAp, 0, 1);
        // Bitwise: a resumed run re-validates the same state and must take the same decisions.
        Assert.Equal(first, validation.Validate(p, TrainingStage.One, 0));
        Assert.Equal(first, new ValidationSet(clip, categories, seed: 42).Validate(p, TrainingStage.One, 0));
        // The view follows the buffers: changing a parameter changes what is validated.
        var name = "RCA.q_proj_pre.weight";
        var changed = FakeStep.Download(p[name]).Select(v => v * 50 + 0.3f).ToArray();
        backend.Upload(p[name], changed);
        Assert.NotEqual(first, validation.Validate(p, TrainingStage.One, 0));
    }

    [Fact]
    public void ValidationWithoutMasksIsRefused()
    {
        using var backend = TestBackends.Cpu();
        using var file = SafeTensorsFile.Open(clipPath);
        using var clip = ClipWeights.Load(file, backend);
        var normalOnly = categories.Select(c => c with { Samples = c.Samples.Where(s => !s.IsAnomalous).ToList() }).ToList();
        Assert.Contains("no anomaly masks", Assert.Throws<ArgumentException>(() => new ValidationSet(clip, normalOnly, 1)).Message);
    }

    [Fact]
    public void FinalHeadRunsInTheDetector()
    {
        using var backend = TestBackends.Cpu();
        using var file = SafeTensorsFile.Open(clipPath);
        using var clip = ClipWeights.Load(file, backend);
        using var step = new FakeStep(backend, 4, Head);
        using var trainer = new Trainer(step, new FakeBatches(2), new ValidationSet(clip, categories, 42),
            new TrainerOptions { OutDir = Path.Combine(dir, "out"), Seed = 42, MaxEpochs = 2 });
        var result = trainer.Run(TestContext.Current.CancellationToken);
        Assert.Equal(2, result.Epochs);
        Assert.InRange(result.BestMetrics!.PixelAp, 0, 1);

        using var detector = AnomalyDetector.Load(clipPath, result.FinalHead, new DetectorOptions { Device = DetectorDevice.Cpu });
        var r = detector.Detect(categories[0].Samples[0].ImagePath, categories[0].ClassName);
        Assert.True(double.IsFinite(r.PImg) && r.MapSize == 56, $"p_img {r.PImg}, map {r.MapSize}");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
