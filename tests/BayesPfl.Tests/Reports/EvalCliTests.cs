using System.Text.Json;
using BayesPfl.Engine.Data.Synthetic;
using BayesPfl.Engine.Reports;
using BayesPfl.Tests.Cli;
using BayesPfl.Tests.Detection;
using BayesPfl.Tests.Infra;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit;

namespace BayesPfl.Tests.Reports;

/// <summary>`bayespfl eval` with heatmaps, plots and the threshold sidecar, and its bad inputs, on a tiny synthetic
/// MVTec-layout set (40 px, 1 image per folder, one category: CLI runs on a busy CI machine must stay well inside CliProcess's 3 minutes) with the pipeline oracle's tiny CLIP and head on the CPU.</summary>
public class EvalCliTests(PipelineOracleFixture fx) : IClassFixture<PipelineOracleFixture>
{
    private static string Dataset(string tag)
    {
        var root = Path.Combine(Repo.TempDir(tag), "data");
        SyntheticDataset.Generate(root, new SyntheticOptions { Seed = 4, Size = 40, PerCategory = 1, Groups = ["A"] });
        return root;
    }

    private (int Exit, string Stdout, string Stderr) Eval(string root, string head, params string[] extra) =>
        CliProcess.Run(["eval", "--dataset", "mvtec", "--root", root, "--clip", fx.ClipPath, "--head", head, "--device", "cpu", .. extra]);

    [Fact]
    public void HeatmapsPlotsAndSidecarAreWrittenAndInferUsesTheSidecar()
    {
        var root = Dataset("eval-extras");
        var dir = Repo.TempDir("eval-extras-out");
        var head = Path.Combine(dir, "head.safetensors");
        File.Copy(fx.HeadPath, head);
        string heatmaps = Path.Combine(dir, "heatmaps"), plots = Path.Combine(dir, "plots");
        var (exit, stdout, stderr) = Eval(root, head, "--categories", "wood", "--heatmaps", heatmaps, "--plots", plots, "--save-threshold");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");

        // One triptych per test image, at 3x its width, under category/defect.
        const string category = "wood";
        var tests = Directory.GetFiles(Path.Combine(root, category, "test"), "*.png", SearchOption.AllDirectories);
        var pictures = Directory.GetFiles(Path.Combine(heatmaps, category), "*.png", SearchOption.AllDirectories);
        Assert.Equal(tests.Length, pictures.Length);
        foreach (var t in tests)
        {
            var defect = Path.GetFileName(Path.GetDirectoryName(t))!;
            var info = Image.Identify(Path.Combine(heatmaps, category, defect, Path.GetFileName(t)));
            Assert.Equal((120, 40), (info.Width, info.Height));
        }

        // ROC and PR per category and the mean; each a real picture, not a blank canvas.
        var expected = new[] { "mean", "wood" }.SelectMany(c => new[] { $"{c}.pr.png", $"{c}.roc.png" });
        Assert.Equal(expected, Directory.GetFiles(plots).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var f in Directory.GetFiles(plots))
        {
            using var img = Image.Load<Rgb24>(f);
            Assert.Equal((640, 520), (img.Width, img.Height));
            var colours = new HashSet<Rgb24>();
            for (var y = 0; y < img.Height; y += 2)
                for (var x = 0; x < img.Width; x += 2) colours.Add(img[x, y]);
            // Axes, text, the chance line and two coloured curves give dozens of colours (anti-aliased); a blank or
            // single-line plot has a handful.
            Assert.True(colours.Count > 20, $"{f}: {colours.Count} colours");
        }

        var sidecar = ThresholdFile.Load(ThresholdFile.PathFor(head));
        Assert.Equal(["wood"], sidecar.Categories.Select(c => c.Category));
        Assert.Equal(root, sidecar.Dataset);
        Assert.All(sidecar.Categories, c => Assert.InRange(c.PixelF1, 0, 1));
        Assert.InRange(sidecar.ImageThreshold, 0, 1);
        using (var json = JsonDocument.Parse(File.ReadAllText(ThresholdFile.PathFor(head))))
            Assert.Equal(ImageDecision.ScoreKind, json.RootElement.GetProperty("score").GetString());

        var wood = Directory.GetFiles(Path.Combine(root, "wood", "test", "good"))[0];
        (exit, stdout, stderr) = CliProcess.Run("infer", wood, "--clip", fx.ClipPath, "--head", head, "--class", "wood", "--device", "cpu");
        Assert.True(exit == 0, stderr);
        Assert.Contains($"from sidecar {ThresholdFile.PathFor(head)} (category 'wood' of {root})", stdout);
    }

    [Fact]
    public void BadDatasetsFailWithOneLineBeforeAnyOutput()
    {
        var dir = Repo.TempDir("eval-bad");
        var output = Path.Combine(dir, "out");
        var heatmaps = Path.Combine(dir, "heatmaps");
        var empty = Path.Combine(dir, "empty");
        Directory.CreateDirectory(empty);

        var resized = Dataset("eval-bad-mask");
        var mask = Directory.GetFiles(Path.Combine(resized, "wood", "ground_truth"), "*.png", SearchOption.AllDirectories)[0];
        using (var small = new Image<L8>(20, 20)) small.SaveAsPng(mask);

        var corrupt = Dataset("eval-bad-image");
        var image = Directory.GetFiles(Path.Combine(corrupt, "wood", "test", "good"))[0];
        File.WriteAllBytes(image, File.ReadAllBytes(image)[..50]);

        var notAModel = Path.Combine(dir, "head.safetensors");
        File.WriteAllText(notAModel, "not a model");
        var good = Dataset("eval-bad-head");
        var cases = new (string Root, string Head, string[] Extra, string Expected)[]
        {
            (Path.Combine(dir, "missing"), fx.HeadPath, [], "does not exist"),
            (empty, fx.HeadPath, [], empty),
            (resized, fx.HeadPath, ["--categories", "wood"], "mask is 20x20 but its image"),
            (corrupt, fx.HeadPath, ["--categories", "wood"], Path.GetFileName(image)),
            (good, fx.HeadPath, ["--categories", "nope"], "nope"),
            (good, notAModel, ["--categories", "wood"], notAModel),
            (good, fx.ClipPath, ["--categories", "wood"], "prompt_context"),
        };
        foreach (var (root, head, extra, expected) in cases)
        {
            var (exit, stdout, stderr) = Eval(root, head, [.. extra, "--out", output, "--heatmaps", heatmaps, "--plots", output]);
            Assert.True(exit == 1, $"{root} {string.Join(' ', extra)}: exit {exit}\n{stdout}\n{stderr}");
            var lines = stderr.Trim().Split('\n');
            Assert.True(lines.Length == 1, stderr);
            Assert.StartsWith("bayespfl eval: ", lines[0]);
            Assert.Contains(expected, lines[0]);
            Assert.False(Directory.Exists(output), $"{root}: {output} was created");
            Assert.False(Directory.Exists(heatmaps), $"{root}: {heatmaps} was created");
        }
    }
}
