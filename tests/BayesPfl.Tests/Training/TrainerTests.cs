using BayesPfl.Engine.Training;
using BayesPfl.Engine.Weights;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>The training loop end to end with a fake step and scripted validation: stage logic, outputs, resume, damage.</summary>
public class TrainerTests
{
    // Stage 1 (pixel AP): best at epoch 1, then 4 epochs below it → restore and switch after epoch 5.
    // Stage 2 (image AP): best at epoch 7, then 4 epochs below it → stop after epoch 11.
    private static readonly double[] PixelAp = [0.50, 0.60, 0.55, 0.55, 0.58, 0.59, 0, 0, 0, 0, 0, 0, 0];
    private static readonly double[] ImageAp = [0, 0, 0, 0, 0, 0, 0.30, 0.40, 0.35, 0.39, 0.20, 0.10, 0];

    private static readonly EpochAction[] ScriptActions =
    [
        EpochAction.SaveBest, EpochAction.SaveBest, EpochAction.Continue, EpochAction.Continue, EpochAction.Continue,
        EpochAction.RestoreBestAndStartStageTwo, EpochAction.SaveBest, EpochAction.SaveBest, EpochAction.Continue,
        EpochAction.Continue, EpochAction.Continue, EpochAction.Stop,
    ];

    private const int Batches = 3;

    private sealed class Run : IDisposable
    {
        public Run(string outDir, ulong initSeed = 5, int maxEpochs = 30, (int, int)? killAt = null, ScriptedValidator? validator = null,
            (int, int)? emptyAt = null)
        {
            Backend = TestBackends.Cpu();
            Step = new FakeStep(Backend, initSeed);
            Validator = validator ?? new ScriptedValidator(PixelAp, ImageAp);
            Trainer = new Trainer(Step, new FakeBatches(Batches, killAt, emptyAt), Validator, new TrainerOptions
            {
                OutDir = outDir,
                Seed = 42,
                MaxEpochs = maxEpochs,
                OnStep = s =>
                {
                    Losses.Add((s.GlobalStep, s.Losses.Total));
                    Steps.Add(s);
                },
                OnEpoch = e =>
                {
                    Epochs.Add(e);
                    Params[e.Epoch] = Step.Parameters.ToHost();
                },
            });
        }

        public Engine.Backends.IBackend Backend { get; }

        public FakeStep Step { get; }

        public ScriptedValidator Validator { get; }

        public Trainer Trainer { get; }

        public List<(long Step, double Loss)> Losses { get; } = new();

        public List<TrainerStep> Steps { get; } = new();

        public List<TrainerEpoch> Epochs { get; } = new();

        public Dictionary<int, Dictionary<string, float[]>> Params { get; } = new();

        public void Dispose()
        {
            Trainer.Dispose();
            Step.Dispose();
            Backend.Dispose();
        }
    }

    [Fact]
    public void FollowsTheStageScriptAndWritesTheBestHead()
    {
        var dir = Repo.TempDir("trainer");
        using var run = new Run(dir);
        var result = run.Trainer.Run(TestContext.Current.CancellationToken);

        Assert.Equal(ScriptActions, run.Epochs.Select(e => e.Action));
        Assert.Equal(Enumerable.Range(0, 12).Select(e => (e, e < 6 ? TrainingStage.One : TrainingStage.Two)), run.Validator.Calls);
        Assert.Equal(12, result.Epochs);
        Assert.Equal(12 * Batches, result.Steps);
        Assert.Equal(TrainingStage.Two, result.BestStage);

        // LambdaLR stepping: the first update runs at multiplier 0; stage 2 runs at its constant 1e-4.
        Assert.Equal(0, run.Steps[0].Lr);
        Assert.Equal(new LrSchedule(Batches).ForUpdate(2) * 1e-3, run.Steps[1].Lr);
        Assert.All(run.Steps.Where(s => s.Stage == TrainingStage.Two), s => Assert.Equal(ParamGroups.StageTwoLr, s.Lr));
        Assert.All(run.Steps, s => Assert.True(s.ImagesPerSecond > 0 && s.Eta >= TimeSpan.Zero, $"step {s.GlobalStep}: {s.ImagesPerSecond} img/s, ETA {s.Eta}"));

        // The switch restores epoch 1's parameters, then stage 2 moves only class_mapping, image_mapping, fuse.
        foreach (var (name, best) in run.Params[1])
        {
            TensorAssert.BitwiseEqual(name + " (restored at the switch)", best, run.Params[5][name]);
            if (!ParamGroups.InStageTwo(name)) TensorAssert.BitwiseEqual(name + " (frozen in stage 2)", best, run.Params[11][name]);
        }
        Assert.Contains(run.Params[7].Keys, n => ParamGroups.InStageTwo(n) && !run.Params[7][n].SequenceEqual(run.Params[5][n]));

        // The final model is epoch 7's parameters as a stage-2 head file; every epoch left a checkpoint.
        AssertHeadFile(result.FinalHead, run.Params[7], "2");
        AssertHeadFile(result.BestHead, run.Params[7], "2");
        for (var e = 0; e < 12; e++) Assert.True(File.Exists(Trainer.CheckpointPath(dir, e)), $"checkpoint of epoch {e}");
        var log = File.ReadAllLines(Path.Combine(dir, Trainer.LogName));
        Assert.Equal(12, log.Count(l => l.Contains("\"type\":\"epoch\"")));
        Assert.Equal(12 * Batches, log.Count(l => l.Contains("\"type\":\"step\"")));
    }

    [Fact]
    public void EpochCapStopsEarlyWithTheStageOneBest()
    {
        using var run = new Run(Repo.TempDir("trainer"), maxEpochs: 3);
        var result = run.Trainer.Run(TestContext.Current.CancellationToken);
        Assert.Equal(3, run.Epochs.Count);
        Assert.Equal(TrainingStage.One, result.BestStage);
        AssertHeadFile(result.FinalHead, run.Params[1], "1");
    }

    [Fact]
    public void TiesCountAsImprovements()
    {
        var tie = new ScriptedValidator([0.5, 0.5, 0.5, 0.5, 0.5], new double[5], checksum: false);
        using var run = new Run(Repo.TempDir("trainer"), maxEpochs: 5, validator: tie);
        var result = run.Trainer.Run(TestContext.Current.CancellationToken);
        Assert.All(run.Epochs, e => Assert.Equal(EpochAction.SaveBest, e.Action));
        AssertHeadFile(result.FinalHead, run.Params[4], "1");
    }

    [Theory]
    [InlineData(3)] // killed in stage 1
    [InlineData(6)] // killed in the first stage-2 epoch (resumes right after the switch)
    [InlineData(9)] // killed deep in stage 2
    public void ResumeAfterAKillIsBitIdentical(int killedEpoch)
    {
        using var whole = new Run(Repo.TempDir("trainer"));
        var expected = whole.Trainer.Run(TestContext.Current.CancellationToken);

        var dir = Repo.TempDir("trainer");
        using (var killed = new Run(dir, killAt: (killedEpoch, 1)))
        {
            Assert.Throws<SimulatedKill>(() => killed.Trainer.Run(TestContext.Current.CancellationToken));
            Assert.Equal(whole.Losses.Take(killedEpoch * Batches + 1), killed.Losses);
        }
        Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp-*", SearchOption.AllDirectories));
        Assert.False(File.Exists(Trainer.CheckpointPath(dir, killedEpoch)), "the killed epoch must not have a checkpoint");

        // A different initialisation proves the checkpoint, not the init, supplies the state.
        using var resumed = new Run(dir, initSeed: 999);
        resumed.Trainer.Resume(Trainer.CheckpointPath(dir, killedEpoch - 1));
        var result = resumed.Trainer.Run(TestContext.Current.CancellationToken);
        Assert.Equal(whole.Losses.Skip(killedEpoch * Batches), resumed.Losses);
        Assert.Equal(whole.Epochs.Skip(killedEpoch).Select(e => (e.Epoch, e.Stage, e.Metrics, e.Action)),
            resumed.Epochs.Select(e => (e.Epoch, e.Stage, e.Metrics, e.Action)));
        Assert.Equal((expected.Epochs, expected.Steps, expected.BestStage, expected.BestMetrics), (result.Epochs, result.Steps, result.BestStage, result.BestMetrics));
        Assert.Equal(File.ReadAllBytes(expected.FinalHead), File.ReadAllBytes(result.FinalHead));
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    public void CorruptCheckpointIsAClearError(string damage)
    {
        var dir = Repo.TempDir("trainer");
        using (var first = new Run(dir, maxEpochs: 2)) first.Trainer.Run(TestContext.Current.CancellationToken);
        var path = Trainer.CheckpointPath(dir, 1);
        var bytes = File.ReadAllBytes(path);
        if (damage == "flip") bytes[bytes.Length / 2] ^= 0x04;
        File.WriteAllBytes(path, damage == "flip" ? bytes : bytes[..^9]);
        using var run = new Run(dir);
        var e = Assert.Throws<InvalidDataException>(() => run.Trainer.Resume(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("corrupt or truncated", e.Message);
    }

    [Fact]
    public void ResumeWithAnotherSeedOrDataIsRefused()
    {
        var dir = Repo.TempDir("trainer");
        using (var first = new Run(dir, maxEpochs: 1)) first.Trainer.Run(TestContext.Current.CancellationToken);
        using var backend = TestBackends.Cpu();
        using var step = new FakeStep(backend, 5);
        var validator = new ScriptedValidator(PixelAp, ImageAp);
        using var otherSeed = new Trainer(step, new FakeBatches(Batches), validator, new TrainerOptions { OutDir = dir, Seed = 43 });
        Assert.Contains("seed 42", Assert.Throws<InvalidDataException>(() => otherSeed.Resume(Trainer.CheckpointPath(dir, 0))).Message);
        using var otherData = new Trainer(step, new FakeBatches(Batches + 1), validator, new TrainerOptions { OutDir = dir, Seed = 42 });
        Assert.Contains("batches per epoch", Assert.Throws<InvalidDataException>(() => otherData.Resume(Trainer.CheckpointPath(dir, 0))).Message);
    }

    [Fact]
    public void FailedWriteLeavesNoPartialFile()
    {
        var dir = Repo.TempDir("trainer");
        // A folder where the best head must go makes the final rename fail after the temp file was written.
        Directory.CreateDirectory(Path.Combine(dir, Trainer.BestHeadName));
        using var run = new Run(dir);
        Assert.ThrowsAny<IOException>(() => run.Trainer.Run(TestContext.Current.CancellationToken));
        Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp-*", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(dir, Trainer.FinalHeadName)));
    }

    [Fact]
    public void AnEmptyBatchIsSkippedWithoutAStep()
    {
        using var run = new Run(Repo.TempDir("trainer"), maxEpochs: 2, emptyAt: (1, 1));
        var result = run.Trainer.Run(TestContext.Current.CancellationToken);
        Assert.Equal(2 * Batches - 1, result.Steps);
        Assert.Equal(2 * Batches - 1, run.Step.Calls.Count);
        Assert.All(run.Step.Calls, c => Assert.True(c.Images > 0));
    }

    [Fact]
    public void DrawsDependOnlyOnSeedAndStep()
    {
        Assert.Equal(TrainerRng.Noise(42, 17, 2, 8), TrainerRng.Noise(42, 17, 2, 8));
        Assert.NotEqual(TrainerRng.Noise(42, 17, 2, 8), TrainerRng.Noise(42, 18, 2, 8));
        Assert.NotEqual(TrainerRng.Noise(42, 17, 2, 8), TrainerRng.Noise(43, 17, 2, 8));
        // 300 draws over a bank of 3: each index appears (a stuck index would fail with probability ~1e-52).
        var banks = Enumerable.Range(0, 300).Select(t => TrainerRng.BankIndex(42, t, 3)).ToArray();
        Assert.Equal([0, 1, 2], banks.Distinct().Order());
    }

    private static void AssertHeadFile(string path, Dictionary<string, float[]> expected, string stage)
    {
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(stage, file.Metadata[Engine.Detection.HeadFile.StageKey]);
        using var backend = TestBackends.Cpu();
        using var loaded = HeadParameters.Load(backend, file);
        foreach (var (name, values) in loaded.ToHost()) TensorAssert.BitwiseEqual(name, expected[name], values);
    }
}
