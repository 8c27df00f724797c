using System.Globalization;
using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Training;
using BayesPfl.Engine.Validation;
using Spectre.Console;

namespace BayesPfl.Cli;

/// <summary>
/// `bayespfl bench --training`: stage-1 training steps timed by phase (TrainingBenchmark), with the step's ratio to
/// its own forward (the "about three forwards" target) and, for the tiny model, the CPU baseline.
/// </summary>
internal static class TrainingBench
{
    public static int Run(DetectorDevice device, bool tiny, bool realSize, int batch, int steps)
    {
        if (tiny == realSize) return BenchCommand.Fail("--training needs exactly one of --tiny and --real-size");
        if (batch <= 0 || steps <= 0) return BenchCommand.Fail($"--batch {batch} and --images {steps} must be positive");
        try
        {
            var onCuda = DeviceBackends.UsesCuda(device);
            var clip = realSize ? ClipConfig.VitL14At518 : RandomClip.Tiny;
            var head = realSize ? HeadConfig.Default with { Stage2 = false } : BenchCommand.TinyHead(clip);
            var rows = new List<TrainingBenchmark.Timing>();
            if (onCuda && !realSize) rows.Add(Measure(new CpuBackend(), clip, head, batch, steps));
            rows.Add(Measure(DeviceBackends.Open(device), clip, head, batch, steps));
            Print(rows, realSize ? "ViT-L/14 at 518 px, zero weights" : "RandomClip.Tiny");
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or ArgumentException)
        {
            return BenchCommand.Fail(e.Message);
        }
    }

    private static TrainingBenchmark.Timing Measure(IBackend backend, ClipConfig clip, HeadConfig head, int batch, int steps)
    {
        using (backend)
        using (var weights = ClipWeights.Uninitialized(backend, clip, zeroed: true))
            return TrainingBenchmark.Measure(backend, weights, head, batch, steps);
    }

    private static void Print(List<TrainingBenchmark.Timing> rows, string model)
    {
        AnsiConsole.MarkupLine(Markup.Escape($"{model}: stage-1 training steps of {rows[0].Batch} images, {rows[0].Steps} timed after one warm-up"));
        var table = new Table().AddColumn("backend");
        foreach (var c in new[] { "vision ms", "flows+text fwd ms", "head fwd+bwd ms", "text+flows bwd ms", "step ms", "images/s", "step / forward", "vs first row" })
            table.AddColumn(new TableColumn(c).RightAligned());
        var baseline = rows[0].Step;
        foreach (var r in rows)
            table.AddRow(r.Backend, Ms(r.Vision, r), Ms(r.Forward, r), Ms(r.Head, r), Ms(r.Backward, r), Ms(r.Step, r),
                F(r.ImagesPerSecond), F(r.StepOverForward) + "x", F(baseline / r.Step) + "x");
        AnsiConsole.Write(table);
    }

    private static string Ms(double seconds, TrainingBenchmark.Timing r) => (seconds * 1000 / r.Steps).ToString("F1", CultureInfo.InvariantCulture);

    private static string F(double x) => x.ToString("F2", CultureInfo.InvariantCulture);
}
