using System.Globalization;
using BayesPfl.Engine.Evaluation;
using BayesPfl.Engine.Reports;
using ScottPlot;

namespace BayesPfl.Cli;

/// <summary>
/// `eval --plots DIR`: per category &lt;category&gt;.roc.png and &lt;category&gt;.pr.png, each with the image-level curve
/// (fused score) and the pixel-level curve (blurred maps), and mean.roc.png / mean.pr.png with the vertically
/// averaged curves (<see cref="Curve.Mean"/>). The points are the metric sweep's (<see cref="Curve"/>); the legend
/// values are the report's. Drawn with ScottPlot (SkiaSharp, runs headless); each file written atomically.
/// </summary>
internal static class CurvePlots
{
    private const int Width = 640, Height = 520;

    public static IReadOnlyList<string> WriteAll(string dir, IReadOnlyList<CategoryCurves> curves, EvaluationReport report)
    {
        Directory.CreateDirectory(dir);
        var files = new List<string>();
        foreach (var c in curves)
        {
            var row = report.Categories.First(r => r.Category == c.Category);
            files.AddRange(Write(dir, c.Category, c.Image, c.Pixel, row));
        }
        var mean = new CategoryCurves(Evaluator.MeanName, Curve.Mean(curves.Select(c => c.Image)), Curve.Mean(curves.Select(c => c.Pixel)));
        files.AddRange(Write(dir, mean.Category, mean.Image, mean.Pixel, report.Mean));
        return files;
    }

    private static string[] Write(string dir, string name, Curve image, Curve pixel, CategoryMetrics row)
    {
        var roc = Path.Combine(dir, SafeName(name) + ".roc.png");
        var pr = Path.Combine(dir, SafeName(name) + ".pr.png");
        Save(roc, $"{name}: ROC", "false positive rate", "true positive rate", diagonal: true,
            ($"image (AUROC {F(row.ImageAuroc)})", image.Fpr, image.Tpr), ($"pixel (AUROC {F(row.PixelAuroc)})", pixel.Fpr, pixel.Tpr));
        Save(pr, $"{name}: precision-recall", "recall", "precision", diagonal: false,
            ($"image (AP {F(row.ImageAp)})", image.Recall, image.Precision), ($"pixel (AP {F(row.PixelAp)})", pixel.Recall, pixel.Precision));
        return [roc, pr];
    }

    private static void Save(string path, string title, string x, string y, bool diagonal, params (string Label, double[] X, double[] Y)[] series)
    {
        var plot = new Plot();
        if (diagonal)
        {
            var chance = plot.Add.Line(0, 0, 1, 1);
            chance.LineColor = Colors.Gray;
            chance.LinePattern = LinePattern.Dashed;
        }
        foreach (var (label, xs, ys) in series)
        {
            if (xs.Length == 0) continue;
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = label;
            line.MarkerSize = 0;
            line.LineWidth = 2;
        }
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        plot.Axes.SetLimits(0, 1, 0, 1.02);
        plot.ShowLegend(Alignment.LowerRight);
        var bytes = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.Write(path, temp => File.WriteAllBytes(temp, bytes));
    }

    private static string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>A category or defect name as one file-name component (path separators and invalid characters → '_').</summary>
    public static string SafeName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars().Append('\\').Append('/').ToHashSet();
        var safe = new string(name.Select(ch => invalid.Contains(ch) ? '_' : ch).ToArray());
        return safe is "" or "." or ".." ? "_" : safe;
    }
}
