using System.CommandLine;
using BayesPfl.Engine.Backends.Cuda;
using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Data.Images;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Evaluation;
using BayesPfl.Engine.Reports;
using BayesPfl.Host;
using SixLabors.ImageSharp;
using Spectre.Console;

namespace BayesPfl.Cli;

/// <summary>
/// `bayespfl eval`: zero-shot evaluation on a dataset's test split (spec 8 and 10). Per category image AUROC, AP,
/// F1-max on the fused score and pixel AUROC, AP, F1-max, AUPRO (MVTec definition) on the blurred maps, then the
/// unweighted mean; a table on the console and with --out metrics.md, metrics.csv, metrics.json. Options:
/// --heatmaps DIR (the <see cref="HeatmapOverlay"/> triptych of every test image, DIR/category/defect/stem.png, outlined
/// at the category's pixel F1 threshold), --plots DIR (ROC and PR curves per category and their mean, <see cref="CurvePlots"/>),
/// --save-threshold (the F1-adaptive <see cref="ThresholdFile"/> sidecar next to the head). Image and mask headers are
/// checked before any compute; reports, plots and the sidecar are written only when the whole run succeeded, each
/// file atomically. --metrics-device auto|cpu|cuda picks where the pixel metrics' pass over the maps runs
/// (<see cref="Engine.Metrics.PixelMetrics"/>; auto: CUDA when the detector runs there); the console and metrics.json say which ran.
/// Not-applicable metrics (e.g. image metrics of an all-anomalous category) are n/a.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var dataset = CommonOptions.Layout("--dataset", "dataset layout");
        var root = new Option<string>("--root") { Description = "dataset root folder", Required = true };
        var clip = new Option<string?>("--clip") { Description = "CLIP engine file; default: the one a trained head records" };
        var head = new Option<string>("--head", "--model") { Description = "head engine file", Required = true };
        var categories = new Option<string?>("--categories") { Description = "comma-separated categories (default: all)" };
        var output = new Option<string?>("--out") { Description = "folder for metrics.md, metrics.csv and metrics.json" };
        var heatmaps = new Option<string?>("--heatmaps") { Description = "folder for a heatmap overlay PNG per test image (category/defect/name.png)" };
        var plots = new Option<string?>("--plots") { Description = "folder for ROC and PR curve PNGs per category and their mean" };
        var saveThreshold = new Option<bool>("--save-threshold")
        {
            Description = $"write the F1-adaptive image threshold (score {ImageDecision.ScoreKind}) and pixel threshold, per category " +
                          "and pooled, to <head>.threshold.json for `infer`",
        };
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var metricsDevice = CommonOptions.Device("where the pixel metrics' pass over the maps runs: auto (CUDA when the detector runs there), cpu or cuda",
            "--metrics-device");
        var command = new Command("eval", "Evaluate zero-shot detection on a dataset (image and pixel metrics)")
            { dataset, root, clip, head, categories, output, heatmaps, plots, saveThreshold, device, precision, metricsDevice };
        command.SetAction(r => Run(new EvalArgs(r.GetValue(dataset)!, r.GetValue(root)!, r.GetValue(clip), r.GetValue(head)!,
            r.GetValue(categories), r.GetValue(output), r.GetValue(heatmaps), r.GetValue(plots), r.GetValue(saveThreshold),
            CommonOptions.ParseDevice(r.GetValue(device)!), CommonOptions.ParsePrecision(r.GetValue(precision)!),
            CommonOptions.ParseDevice(r.GetValue(metricsDevice)!))));
        return command;
    }

    private sealed record EvalArgs(string Layout, string Root, string? Clip, string Head, string? Categories, string? Output,
        string? Heatmaps, string? Plots, bool SaveThreshold, DetectorDevice Device, DetectorPrecision Precision, DetectorDevice MetricsDevice);

    private static int Run(EvalArgs a)
    {
        try
        {
            if (a.MetricsDevice == DetectorDevice.Cuda && !Cuda.IsAvailable)
                throw new InvalidOperationException($"--metrics-device cuda: no CUDA device ({Cuda.UnavailableReason})");
            var options = new DatasetOptions
            {
                Categories = a.Categories?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };
            var data = DatasetReader.Open(a.Root, CommonOptions.ParseLayout(a.Layout), options);
            foreach (var w in data.Warnings) Console.Error.WriteLine($"bayespfl eval: warning: {w}");
            if (data.Categories.Count == 0 || !data.Samples.Any()) throw new DatasetException($"{a.Root}: no test images found");
            DatasetChecks.CheckFiles(data);
            using var detector = AnomalyDetector.Load(HeadFile.ResolveClip(a.Clip, a.Head), a.Head, new DetectorOptions { Device = a.Device, Precision = a.Precision });
            using var metrics = MetricsGpu.For(detector, a.MetricsDevice);
            Console.WriteLine($"backend {detector.Backend.Name} ({detector.Precision.Name()}), pixel metrics on {Evaluator.MetricsDeviceName(metrics.Gpu)}, " +
                              $"{data.Layout} at {data.Root}, {data.Categories.Count} categories");
            var rows = new List<CategoryMetrics>();
            var curves = new List<CategoryCurves>();
            var thresholds = new ThresholdSelection();
            foreach (var category in data.Categories)
            {
                Console.WriteLine($"{category.Name}: {category.Samples.Count} images");
                var outputs = Evaluator.Collect(detector, category);
                rows.Add(Evaluator.Score(outputs, metrics.Gpu, out var pixels));
                if (a.Plots is not null) curves.Add(CategoryCurves.Of(outputs));
                if (!a.SaveThreshold && a.Heatmaps is null) continue;
                var entry = a.SaveThreshold ? thresholds.Add(outputs, pixels) : ThresholdSelection.Of(outputs, pixels);
                if (a.Heatmaps is not null) WriteHeatmaps(a.Heatmaps, category, outputs, entry.PixelThreshold);
            }
            var report = new EvaluationReport(data.Root, data.Layout, detector.Backend.Name, rows, Evaluator.Mean(rows), detector.Precision)
            {
                MetricsDevice = Evaluator.MetricsDeviceName(metrics.Gpu),
            };
            Print(report);
            if (a.Output is not null)
                foreach (var f in EvaluationReports.WriteAll(a.Output, report)) Console.WriteLine($"wrote {f}");
            if (a.Plots is not null)
                foreach (var f in CurvePlots.WriteAll(a.Plots, curves, report)) Console.WriteLine($"wrote {f}");
            if (a.SaveThreshold)
            {
                var sidecar = thresholds.Build(data.Root, data.Layout.ToString());
                var path = ThresholdFile.PathFor(a.Head);
                sidecar.Save(path);
                Console.WriteLine($"wrote {path}: image threshold {sidecar.ImageThreshold:G6} (F1 {sidecar.ImageF1:F4}), " +
                                  $"pixel threshold {sidecar.PixelThreshold:G6} (F1 {sidecar.PixelF1:F4}), pooled over {sidecar.Categories.Count} categories");
            }
            return 0;
        }
        catch (Exception e) when (e is DatasetException or IOException or InvalidDataException or InvalidOperationException
                                   or UnauthorizedAccessException or ArgumentException or UnknownImageFormatException or NotSupportedException)
        {
            Console.Error.WriteLine($"bayespfl eval: {e.Message}");
            return 1;
        }
    }

    /// <summary>The GPU of the pixel metrics: the detector's own when it runs on CUDA (auto, cuda), a fresh one for
    /// cuda with a CPU detector (owned: disposed after the run), none for cpu or a CPU detector under auto.</summary>
    private sealed class MetricsGpu(IGpu? gpu, bool owned) : IDisposable
    {
        public IGpu? Gpu => gpu;

        public static MetricsGpu For(AnomalyDetector detector, DetectorDevice device)
        {
            var detectorGpu = Evaluator.MetricsGpu(detector);
            return device switch
            {
                DetectorDevice.Cpu => new(null, false),
                DetectorDevice.Cuda when detectorGpu is null => new(new CudaGpu(EngineKernels.Sources), true),
                _ => new(detectorGpu, false),
            };
        }

        public void Dispose()
        {
            if (owned) gpu?.Dispose();
        }
    }

    /// <summary>One triptych per test image at its own size, outlined at the category's pixel F1 threshold (or 0.5 when
    /// the category has no anomalous pixel).</summary>
    private static void WriteHeatmaps(string dir, DatasetCategory category, CategoryOutputs outputs, double pixelThreshold)
    {
        var t = double.IsFinite(pixelThreshold) ? pixelThreshold : ImageDecision.DefaultThreshold;
        var folder = Path.Combine(dir, CurvePlots.SafeName(category.Name));
        void One(int i)
        {
            var s = category.Samples[i];
            var rgb = ImageFile.LoadRgb(s.ImagePath);
            var map = MapResize.Bilinear(outputs.Maps[i], outputs.MapSize, outputs.MapSize, rgb.Height, rgb.Width);
            var path = Path.Combine(folder, CurvePlots.SafeName(s.DefectType), Path.GetFileNameWithoutExtension(s.ImagePath) + ".png");
            HeatmapOverlay.Save(path, rgb, map, t);
        }
        try
        {
            Parallel.For(0, category.Samples.Count, One);
        }
        catch (AggregateException e)
        {
            // The worker's own exception (it names the file) rather than the aggregate around it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        Console.WriteLine($"wrote {category.Samples.Count} heatmaps to {folder} (pixel threshold {t:G6})");
    }

    private static void Print(EvaluationReport report)
    {
        var table = new Table().AddColumn("category").AddColumn("normal").AddColumn("anomalous");
        foreach (var m in CategoryMetrics.MetricNames) table.AddColumn(new TableColumn(m).RightAligned());
        foreach (var row in report.Categories.Append(report.Mean))
        {
            var cells = new List<string> { Markup.Escape(row.Category), row.Normal.ToString(), row.Anomalous.ToString() };
            cells.AddRange(row.Values.Select(v => double.IsNaN(v) ? "[grey]n/a[/]" : v.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)));
            if (ReferenceEquals(row, report.Mean)) cells[0] = $"[bold]{cells[0]}[/]";
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
    }
}
