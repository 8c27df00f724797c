using BayesPfl.Engine.Training;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>The patience-4 early stopping and stage switch of spec §9.5 on scripted metric sequences.</summary>
public class StageControlTests
{
    [Fact]
    public void SwitchesToStageTwoThenStops()
    {
        var c = new StageControl();
        // Stage 1 (pixel AP): improve, tie (counts as improvement), then 4 worse epochs.
        Assert.Equal(EpochAction.SaveBest, c.OnEpoch(0.30));
        Assert.Equal(EpochAction.SaveBest, c.OnEpoch(0.30));
        Assert.Equal(EpochAction.Continue, c.OnEpoch(0.29));
        Assert.Equal(EpochAction.Continue, c.OnEpoch(0.28));
        Assert.Equal(EpochAction.SaveBest, c.OnEpoch(0.31)); // resets patience
        Assert.Equal(EpochAction.Continue, c.OnEpoch(0.20));
        Assert.Equal(EpochAction.Continue, c.OnEpoch(0.20));
        Assert.Equal(EpochAction.Continue, c.OnEpoch(0.20));
        Assert.Equal(EpochAction.RestoreBestAndStartStageTwo, c.OnEpoch(0.20));
        Assert.Equal(TrainingStage.Two, c.Stage);
        // Stage 2 (image AP) starts without a best: a low value still saves.
        Assert.Equal(EpochAction.SaveBest, c.OnEpoch(0.10));
        for (var i = 0; i < 3; i++) Assert.Equal(EpochAction.Continue, c.OnEpoch(0.05));
        Assert.Equal(EpochAction.Stop, c.OnEpoch(0.05));
        Assert.Equal(TrainingStage.Done, c.Stage);
        Assert.Throws<InvalidOperationException>(() => c.OnEpoch(0.5));
    }

    [Fact]
    public void StopsAtThirtyEpochs()
    {
        var c = new StageControl();
        for (var e = 1; e < StageControl.MaxEpochs; e++) Assert.Equal(EpochAction.SaveBest, c.OnEpoch(e));
        Assert.Equal(TrainingStage.One, c.Stage);
        Assert.Equal(EpochAction.Stop, c.OnEpoch(0));
        Assert.Equal(TrainingStage.Done, c.Stage);
    }

    [Fact]
    public void RejectsNaNMetric() => Assert.Throws<ArgumentException>(() => new StageControl().OnEpoch(double.NaN));
}
