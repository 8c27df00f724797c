using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Backends.Cpu;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Model;
using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Text;
using BayesPfl.Engine.Training;
using BayesPfl.Engine.Validation;
using Spectre.Console;

namespace BayesPfl.Cli;

/// <summary>
/// `bayespfl bench`: inference throughput of the whole detector on the chosen device and, in the same run, on the CPU
/// as the baseline. Per device: one untimed warm-up image (kernel compilation, first allocations), then N images timed
/// by phase: vision (the image tower, one batch), text (prompt flows and the text tower on the spliced prompts) and
/// head (RCA, similarity maps, scores, the map's download). Inputs are random preprocessed images, so image decoding
/// and resizing are not measured. Phases are cut at the detector's inspection points with a device synchronise.
/// --precision picks the towers' mode; without it every device runs fp32 then bf16 on the same inputs and the same
/// flow samples, and the run ends with bf16's time over fp32's and the largest |Δ| of the anomaly maps and p_img.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var device = CommonOptions.Device("auto, cpu or cuda (the CPU baseline is measured too, except with --real-size)");
        var clip = new Option<string?>("--clip") { Description = "CLIP engine file" };
        var head = new Option<string?>("--head") { Description = "head engine file" };
        var tiny = new Option<bool>("--tiny") { Description = "a tiny random CLIP and head instead of real weights (RandomClip.Tiny: 112 px, width 64)" };
        var images = new Option<int>("--images") { Description = "images timed per device (with --training: steps timed)", DefaultValueFactory = _ => 2 };
        var training = new Option<bool>("--training") { Description = "time stage-1 training steps by phase instead of inference (with --tiny, or --real-size)" };
        var realSize = new Option<bool>("--real-size")
        {
            Description = "ViT-L/14 at 518 px without a checkpoint and without the CPU baseline (which would take minutes): inference " +
                          "runs seeded random weights (RandomClip and a fresh head, written to a scratch folder); --training zero weights",
        };
        var precision = CommonOptions.Precision(defaultValue: null, "; default: both, compared");
        var keep = new Option<DirectoryInfo?>("--keep")
        {
            Description = "with --tiny or --real-size (inference): write the random clip.safetensors and head.safetensors into this folder " +
                          "and keep them (e.g. for the C example, examples/c) instead of deleting a scratch copy",
        };
        var batch = new Option<int>("--batch") { Description = "with --training: images per step", DefaultValueFactory = _ => 8 };
        var command = new Command("bench", "Measure inference throughput (images/s, ms per image by phase) against the CPU, or a training step against its forward")
        {
            device, clip, head, tiny, images, training, realSize, batch, precision, keep,
        };
        command.SetAction(r =>
        {
            var dev = CommonOptions.ParseDevice(r.GetValue(device)!);
            if (r.GetValue(keep) is not null && (r.GetValue(training) || !(r.GetValue(tiny) || r.GetValue(realSize))))
                return Fail("--keep goes with --tiny or --real-size, without --training");
            return r.GetValue(training)
                ? TrainingBench.Run(dev, r.GetValue(tiny), r.GetValue(realSize), r.GetValue(batch), r.GetValue(images))
                : Run(dev, r.GetValue(clip), r.GetValue(head), r.GetValue(tiny), r.GetValue(realSize), r.GetValue(images),
                    r.GetValue(precision) is { } p ? [CommonOptions.ParsePrecision(p)] : [DetectorPrecision.Fp32, DetectorPrecision.Bf16],
                    r.GetValue(keep)?.FullName);
        });
        return command;
    }

    private static int Run(DetectorDevice device, string? clip, string? head, bool tiny, bool realSize, int images, DetectorPrecision[] precisions,
        string? keep)
    {
        if ((tiny ? 1 : 0) + (realSize ? 1 : 0) + (clip is not null || head is not null ? 1 : 0) != 1 || (clip is null) != (head is null))
            return Fail("give either --clip and --head, --tiny or --real-size");
        if (images <= 0) return Fail($"--images is {images}, must be positive");
        string? scratch = null;
        try
        {
            // The device choice first, so that a missing GPU fails before minutes of CPU baseline.
            var onCpu = !DeviceBackends.UsesCuda(device);
            if (tiny) (clip, head, scratch) = WriteRandom(RandomClip.Tiny, TinyHead(RandomClip.Tiny), keep);
            if (realSize) (clip, head, scratch) = WriteRandom(ClipConfig.VitL14At518, HeadConfig.Default, keep);
            var rows = new List<Timing>();
            // Each measurement opens (and owns) its backend.
            foreach (var cpu in realSize || onCpu ? [onCpu] : new[] { true, false })
                foreach (var p in precisions) rows.Add(Measure(cpu ? new CpuBackend() : DeviceBackends.Open(device), clip!, head!, images, p));
            Print(rows, realSize ? "ViT-L/14 at 518 px, random weights" : tiny ? "RandomClip.Tiny" : Path.GetFileName(clip!), images);
            PrecisionComparison.Print(rows);
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException or ArgumentException)
        {
            return Fail(e.Message);
        }
        finally
        {
            if (scratch is not null) Directory.Delete(scratch, recursive: true);
        }
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine($"bayespfl bench: {message}");
        return 2;
    }

    /// <summary>A head sized for a small random CLIP (hidden widths half the vision width).</summary>
    internal static HeadConfig TinyHead(ClipConfig config) =>
        new() { Embed = config.EmbedDim, VisionWidth = config.Vision.Width, Hidden = config.Vision.Width / 2, FuseHidden = config.Vision.Width / 2 };

    /// <summary>
    /// A seeded RandomClip and a freshly initialised head that fits it: in <paramref name="keep"/> (Dir null: kept), or in a
    /// scratch folder the caller deletes.
    /// </summary>
    private static (string Clip, string Head, string? Dir) WriteRandom(ClipConfig config, HeadConfig headConfig, string? keep)
    {
        var dir = keep ?? Directory.CreateTempSubdirectory("bayespfl-bench-").FullName;
        Directory.CreateDirectory(dir);
        var clip = Path.Combine(dir, "clip.safetensors");
        var head = Path.Combine(dir, "head.safetensors");
        RandomClip.Write(clip, config, seed: 1);
        using var cpu = new CpuBackend();
        using var parameters = HeadParameters.Initialize(cpu, headConfig, seed: 2);
        parameters.SaveHeadFile(head, TrainingStage.Two);
        return (clip, head, keep is null ? dir : null);
    }

    /// <summary>Seconds per phase for <see cref="Images"/> images, and what the timed run returned (for the precision comparison).</summary>
    internal sealed record Timing(string Backend, DetectorPrecision Precision, int Images, double Vision, double Text, double Head, double Total,
        IReadOnlyList<(double PImg, float[] Map)> Outputs);

    /// <summary>Runs the detector on <paramref name="backend"/> (which it then owns) and returns seconds per phase for <paramref name="n"/> images.</summary>
    private static Timing Measure(IBackend backend, string clip, string head, int n, DetectorPrecision precision)
    {
        var clock = new PhaseClock(backend);
        AnomalyDetector created;
        try
        {
            created = AnomalyDetector.Create(backend, clip, head, new DetectorOptions { Inspect = clock.At, Precision = precision });
        }
        catch
        {
            backend.Dispose();
            throw;
        }
        using var detector = created;
        var ids = ClipTokenizer.Default.Tokenize(ClassNames.Prompt("bottle"), detector.ClipConfig.Text.ContextLength);
        var pixels = 3 * detector.ImageSize * detector.ImageSize;
        detector.Run(RandomPixels(pixels, 1), ids);
        clock.Start();
        var outputs = detector.Run(RandomPixels(pixels * n, 2), ids);
        clock.Stop();
        return new Timing(backend.Name, precision, n, clock.Vision, clock.Text, clock.Head, clock.Total, outputs);
    }

    private static float[] RandomPixels(int count, ulong seed)
    {
        var values = new float[count];
        new GaussianNoise(seed).Fill(values);
        return values;
    }

    private static void Print(List<Timing> rows, string model, int images)
    {
        AnsiConsole.MarkupLine(Markup.Escape($"{model}, {images} images per device (after one warm-up image), random preprocessed inputs"));
        var table = new Table().AddColumn("backend").AddColumn("precision");
        foreach (var c in new[] { "vision ms/img", "text ms/img", "head ms/img", "total ms/img", "images/s", "vs cpu" }) table.AddColumn(new TableColumn(c).RightAligned());
        // Against the CPU's first row (fp32 when both run); --real-size has no CPU row.
        var baseline = rows.FirstOrDefault(r => r.Backend == "cpu");
        foreach (var r in rows)
        {
            table.AddRow(r.Backend, r.Precision.Name(), Ms(r.Vision, r.Images), Ms(r.Text, r.Images), Ms(r.Head, r.Images), Ms(r.Total, r.Images),
                (r.Images / r.Total).ToString("F2", CultureInfo.InvariantCulture),
                baseline is null ? "-" : (baseline.Total / r.Total).ToString("F2", CultureInfo.InvariantCulture) + "x");
        }
        AnsiConsole.Write(table);
    }

    private static string Ms(double seconds, int images) => (seconds * 1000 / images).ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>
    /// Cuts the detector's run into phases at its inspection points: "g" of image 0 ends the image tower, "text" of
    /// image i ends its prompts and text tower, "g" of image i+1 (or the end) ends image i's head. Each cut synchronises
    /// the device so that queued GPU work is charged to the phase that queued it.
    /// </summary>
    private sealed class PhaseClock(IBackend backend)
    {
        private readonly Stopwatch watch = new();
        private double last;
        private bool running;

        public double Vision { get; private set; }

        public double Text { get; private set; }

        public double Head { get; private set; }

        public double Total => Vision + Text + Head;

        public void Start()
        {
            backend.Synchronize();
            (Vision, Text, Head, last, running) = (0, 0, 0, 0, true);
            watch.Restart();
        }

        public void At(int image, string stage, Engine.Tensors.Tensor _)
        {
            if (!running || stage is not ("g" or "text")) return;
            var span = Lap();
            if (stage == "text") Text += span;
            else if (image == 0) Vision += span;
            else Head += span;
        }

        public void Stop()
        {
            Head += Lap();
            running = false;
        }

        private double Lap()
        {
            backend.Synchronize();
            var now = watch.Elapsed.TotalSeconds;
            var span = now - last;
            last = now;
            return span;
        }
    }
}
