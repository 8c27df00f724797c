using System.Globalization;
using BayesPfl.Engine.Training;
using Spectre.Console;

namespace BayesPfl.Cli;

/// <summary>
/// Training progress on the console: on a terminal one Spectre.Console bar per epoch whose label carries the
/// step's loss terms, learning rate, images/s and ETA, and after the epoch its validation and stage decision;
/// when the output is redirected (logs, CI) one plain line per epoch instead.
/// </summary>
internal sealed class TrainProgress(int maxEpochs) : IDisposable
{
    private readonly bool live = AnsiConsole.Profile.Capabilities.Interactive;
    private ProgressContext? context;
    private ProgressTask? task;

    public T Show<T>(Func<T> run)
    {
        if (!live) return run();
        return AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                context = ctx;
                return run();
            });
    }

    public void Step(TrainerStep s)
    {
        if (context is null) return;
        task ??= context.AddTask(Label(s.Epoch, s.Stage, ""), maxValue: s.BatchesPerEpoch);
        var l = s.Losses;
        var terms = s.Stage == TrainingStage.One
            ? $"loss {l.Total:F4} (cls {l.Cls:F3} seg {l.Seg:F3} dist {l.Dist:F3} orth {l.Orth:F3})"
            : $"loss {l.Total:F4} (cls)";
        task.Description = Label(s.Epoch, s.Stage, $"{terms} lr {s.Lr:0.0e+0} {s.ImagesPerSecond:F1} img/s ETA ≤ {s.Eta:hh\\:mm\\:ss}");
        task.Value = s.Batch + 1;
    }

    public void Epoch(TrainerEpoch e)
    {
        var text = $"mean loss {e.MeanLoss:F4}, pixel AP {TrainCommand.F(e.Metrics.PixelAp)}, image AP {TrainCommand.F(e.Metrics.ImageAp)} → {Describe(e.Action)} ({e.Elapsed.TotalSeconds:F1} s)";
        if (task is not null)
        {
            task.Description = Label(e.Epoch, e.Stage, text);
            task.Value = task.MaxValue;
            task.StopTask();
            task = null;
        }
        else if (!live)
        {
            Console.WriteLine($"epoch {e.Epoch + 1}/{maxEpochs} stage {(int)e.Stage}: {text}");
        }
    }

    private string Label(int epoch, TrainingStage stage, string text) =>
        Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"epoch {epoch + 1}/{maxEpochs} stage {(int)stage}  {text}"));

    private static string Describe(EpochAction a) => a switch
    {
        EpochAction.SaveBest => "new best, saved",
        EpochAction.Continue => "no improvement",
        EpochAction.RestoreBestAndStartStageTwo => "patience spent: best restored, stage 2 starts",
        _ => "stop",
    };

    public void Dispose() => task?.StopTask();
}
