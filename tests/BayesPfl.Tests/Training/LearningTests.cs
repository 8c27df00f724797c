using System.Text.Json;
using BayesPfl.Tests.Cli;
using BayesPfl.Tests.Infra;
using Xunit;

namespace BayesPfl.Tests.Training;

/// <summary>
/// Issue 5's learning test, through `bayespfl demo --size small` (the command a newcomer runs first): the synthetic
/// defect dataset, a tiny CLIP with fixed random weights, the head trained on the CPU on group A (fabric, wood,
/// disc, bottle) and evaluated zero-shot on group B (grid, stone, nut, pill), which it never saw. A test of the
/// training machinery, not of CLIP: random towers give patch features from which a defect direction that carries
/// over to unseen textures can only partly be learnt. Measured on this 2-core machine (67 s idle): held-out mean
/// pixel AUROC 0.460 before → 0.708 after, pixel AP 0.010 → 0.039 (3.9x), AUPRO 0.112 → 0.318; in-domain
/// validation pixel AP 0.02 → 0.27 over the 20 epochs. Training on the CPU is deterministic, so these are the
/// figures CI sees.
/// </summary>
public class LearningTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Slow")]
    public void TrainingOnGroupARaisesHeldOutPixelAurocOnGroupB()
    {
        var dir = Path.Combine(Repo.TempDir("learning"), "demo");
        // 67 s alone, 111 s inside the whole ./test.sh on a shared 2-core machine: the default 3 minutes left a margin
        // of only 1.6x against a slower or busier CI machine; 15 minutes only guards against a hang.
        var (exit, stdout, stderr) = CliProcess.Run(TimeSpan.FromMinutes(15), "demo", "--size", "small", "--out", dir, "--device", "cpu");
        Assert.True(exit == 0, $"exit {exit}:\n{stdout}\n{stderr}");
        var before = Mean(Path.Combine(dir, "eval-before", "metrics.json"));
        var after = Mean(Path.Combine(dir, "eval-after", "metrics.json"));
        output.WriteLine($"held-out pixel AUROC {before.PixelAuroc:F3} -> {after.PixelAuroc:F3}, pixel AP {before.PixelAp:F4} -> {after.PixelAp:F4}");
        // The untrained head (spec 9.4 init) scores the held-out pixels at chance: AUROC within 0.1 of 0.5.
        Assert.InRange(before.PixelAuroc, 0.4, 0.6);
        // "Clearly better": at least 0.15 above it (measured +0.25) and pixel AP at least doubled (measured 3.9x).
        Assert.True(after.PixelAuroc >= before.PixelAuroc + 0.15, $"pixel AUROC {before.PixelAuroc:F3} -> {after.PixelAuroc:F3}");
        Assert.True(after.PixelAp >= 2 * before.PixelAp, $"pixel AP {before.PixelAp:F4} -> {after.PixelAp:F4}");
    }

    private static (double PixelAuroc, double PixelAp) Mean(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var mean = doc.RootElement.GetProperty("mean");
        return (mean.GetProperty("pixel_auroc").GetDouble(), mean.GetProperty("pixel_ap").GetDouble());
    }
}
