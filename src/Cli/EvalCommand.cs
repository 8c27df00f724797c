using System.CommandLine;
using BayesPfl.Engine.Data.Datasets;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Evaluation;
using SixLabors.ImageSharp;
using Spectre.Console;

namespace BayesPfl.Cli;

/// <summary>
/// `bayespfl eval`: zero-shot evaluation on a dataset's test split (spec 8 and 10). Per category image AUROC, AP,
/// F1-max on the fused score and pixel AUROC, AP, F1-max, AUPRO (MVTec definition) on the blurred maps, then the
/// unweighted mean; a table on the console and with --out metrics.md, metrics.csv, metrics.json (written only
/// when the whole run succeeded). Not-applicable metrics (e.g. image metrics of an all-anomalous category) are n/a.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "dataset layout: mvtec, visa, btad, meta, folder or auto", DefaultValueFactory = _ => "auto" };
        dataset.AcceptOnlyFromAmong("mvtec", "visa", "btad", "meta", "folder", "auto");
        var root = new Option<string>("--root") { Description = "dataset root folder", Required = true };
        var clip = new Option<string>("--clip") { Description = "CLIP engine file", Required = true };
        var head = new Option<string>("--head") { Description = "head engine file", Required = true };
        var categories = new Option<string?>("--categories") { Description = "comma-separated categories (default: all)" };
        var output = new Option<string?>("--out") { Description = "folder for metrics.md, metrics.csv and metrics.json" };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var command = new Command("eval", "Evaluate zero-shot detection on a dataset (image and pixel metrics)")
            { dataset, root, clip, head, categories, output, device };
        command.SetAction(r => Run(r.GetValue(dataset)!, r.GetValue(root)!, r.GetValue(clip)!, r.GetValue(head)!,
            r.GetValue(categories), r.GetValue(output), Enum.Parse<DetectorDevice>(r.GetValue(device)!, ignoreCase: true)));
        return command;
    }

    private static DatasetLayout? Layout(string name) => name switch
    {
        "mvtec" => DatasetLayout.MvTec,
        "visa" => DatasetLayout.Visa,
        "btad" => DatasetLayout.Btad,
        "meta" => DatasetLayout.MetaJson,
        "folder" => DatasetLayout.Folder,
        _ => null,
    };

    private static int Run(string layout, string root, string clipPath, string headPath, string? categories, string? output, DetectorDevice device)
    {
        try
        {
            var options = new DatasetOptions
            {
                Categories = categories?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };
            var data = DatasetReader.Open(root, Layout(layout), options);
            foreach (var w in data.Warnings) Console.Error.WriteLine($"bayespfl eval: warning: {w}");
            using var detector = AnomalyDetector.Load(clipPath, headPath, new DetectorOptions { Device = device });
            Console.WriteLine($"backend {detector.Backend.Name}, {data.Layout} at {data.Root}, {data.Categories.Count} categories");
            var report = Evaluator.Run(detector, data, Console.WriteLine);
            Print(report);
            if (output is not null)
                foreach (var f in EvaluationReports.WriteAll(output, report)) Console.WriteLine($"wrote {f}");
            return 0;
        }
        catch (Exception e) when (e is DatasetException or IOException or InvalidDataException or InvalidOperationException
                                   or UnauthorizedAccessException or ArgumentException or UnknownImageFormatException or NotSupportedException)
        {
            Console.Error.WriteLine($"bayespfl eval: {e.Message}");
            return 1;
        }
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
