using System.CommandLine;
using System.Globalization;
using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Reports;
using SixLabors.ImageSharp;

namespace BayesPfl.Cli;

/// <summary>
/// `bayespfl infer`: zero-shot detection on image files (or every image directly inside given folders). Per image one
/// stdout line (score, p_img, s_map, decision); with --out also one record in results.jsonl and results.csv, the
/// blurred map at the image's size as an 8-bit grey PNG (value·255, no per-image stretching) and the heatmap
/// triptych (<see cref="HeatmapOverlay"/>). The decision is <see cref="ImageDecision"/>'s score ≥ the image
/// threshold; thresholds come from --threshold / --pixel-threshold, else the head's sidecar
/// (<see cref="ThresholdFile"/>, written by `eval --save-threshold`), else 0.5. A missing or unreadable image prints
/// an error line and the run goes on; the exit code is then 1. Every file is written atomically, the record files
/// once the run is over.
/// </summary>
internal static class InferCommand
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"];

    /// <summary>The prompt noun when the user names no category: the generic word CLIP knows for any item.</summary>
    public const string DefaultClass = "object";

    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs")
        {
            Description = "image files, folders of images, and file-name wildcards such as images/*.png (for shells that do not expand them)",
            Arity = ArgumentArity.OneOrMore,
        };
        var clip = new Option<string?>("--clip") { Description = "CLIP engine file (bayespfl convert of a CLIP checkpoint); default: the one a trained head records" };
        var head = new Option<string>("--head", "--model") { Description = "head engine file (bayespfl convert of a Bayes-PFL checkpoint, or bayespfl train's final.head.safetensors)", Required = true };
        var className = new Option<string>("--class")
        {
            Description = $"object category in the prompt, e.g. bottle or pcb1 (renamed as the original does); default \"{DefaultClass}\" for images of no known category",
            DefaultValueFactory = _ => DefaultClass,
        };
        var output = new Option<string?>("--out") { Description = "folder for results.jsonl, results.csv, the map PNGs and the heatmap overlays" };
        var threshold = new Option<double?>("--threshold")
        {
            Description = $"image threshold on the score {ImageDecision.ScoreKind} (raw, no min-max); default: the head's sidecar " +
                          "<head>.threshold.json from `eval --save-threshold` (its --class entry, else pooled), else 0.5",
        };
        var pixelThreshold = new Option<double?>("--pixel-threshold")
        {
            Description = "threshold on the blurred map for the outline in the overlay; default: the sidecar's, else 0.5",
        };
        var device = CommonOptions.Device();
        var precision = CommonOptions.Precision();
        var batch = new Option<int>("--batch") { Description = "images per image-tower batch (results do not depend on it)", DefaultValueFactory = _ => 8 };
        batch.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1) r.AddError("--batch must be at least 1");
        });
        var command = new Command("infer", "Detect anomalies in images with Bayes-PFL (zero-shot)")
            { inputs, clip, head, className, output, threshold, pixelThreshold, device, precision, batch };
        command.SetAction(r => Run(r.GetValue(inputs)!, r.GetValue(clip), r.GetValue(head)!, r.GetValue(className)!, r.GetValue(output),
            r.GetValue(threshold), r.GetValue(pixelThreshold), CommonOptions.ParseDevice(r.GetValue(device)!),
            CommonOptions.ParsePrecision(r.GetValue(precision)!), r.GetValue(batch)));
        return command;
    }

    private static int Run(string[] inputs, string? clipPath, string headPath, string className, string? output,
        double? threshold, double? pixelThreshold, DetectorDevice device, DetectorPrecision precision, int batchSize)
    {
        var failed = false;
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToArray();
                if (found.Length == 0) Fail($"{input}: folder holds no images ({string.Join(", ", ImageExtensions)})");
                files.AddRange(found);
            }
            else if (File.Exists(input)) files.Add(input);
            else if (Path.GetFileName(input).IndexOfAny(['*', '?']) >= 0)
            {
                var dir = Path.GetDirectoryName(input) is { Length: > 0 } d ? d : ".";
                var found = Directory.Exists(dir)
                    ? Directory.EnumerateFiles(dir, Path.GetFileName(input)).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).ToArray()
                    : [];
                if (found.Length == 0) Fail($"{input}: matches no images");
                files.AddRange(found);
            }
            else Fail($"{input}: no such file or folder");
        }
        if (files.Count == 0) return 1;
        AnomalyDetector detector;
        InferThresholds thresholds;
        try
        {
            if (string.IsNullOrWhiteSpace(className)) throw new ArgumentException("--class is empty; give the object category, e.g. bottle");
            thresholds = InferThresholds.Resolve(threshold, pixelThreshold, headPath, className);
            detector = AnomalyDetector.Load(HeadFile.ResolveClip(clipPath, headPath), headPath, new DetectorOptions { Device = device, Precision = precision });
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"bayespfl infer: {e.Message}");
            return 1;
        }
        using (detector)
        {
            Console.WriteLine($"backend {detector.Backend.Name} ({detector.Precision.Name()}), class '{className}'");
            Console.WriteLine($"thresholds: image {thresholds.Image.ToString(CultureInfo.InvariantCulture)} on {ImageDecision.ScoreKind}, " +
                              $"pixel {thresholds.Pixel.ToString(CultureInfo.InvariantCulture)}, from {thresholds.Source}");
            var records = new InferenceRecords(output, className, thresholds.Image, thresholds.Pixel, thresholds.Source, detector.Precision);
            foreach (var chunk in files.Chunk(batchSize))
            {
                IReadOnlyList<AnomalyResult>? results = null;
                try
                {
                    results = detector.Detect(chunk, className);
                }
                catch (Exception e) when (IsImageError(e) && chunk.Length > 1)
                {
                    // One bad image fails its whole batch: run the batch image by image so the others still get results.
                }
                catch (ArgumentException e)
                {
                    // The class name does not fit the model (e.g. it overflows the text context): every image would fail alike.
                    Console.Error.WriteLine($"bayespfl infer: {e.Message}");
                    return 1;
                }
                catch (Exception e) when (IsImageError(e))
                {
                    Fail($"{chunk[0]}: {e.Message}");
                    continue;
                }
                for (var i = 0; i < chunk.Length; i++)
                {
                    AnomalyResult d;
                    try
                    {
                        d = results?[i] ?? detector.Detect(chunk[i], className);
                    }
                    catch (Exception e) when (IsImageError(e))
                    {
                        Fail($"{chunk[i]}: {e.Message}");
                        continue;
                    }
                    var anomalous = ImageDecision.IsAnomalous(d.PImg, d.SMap, thresholds.Image);
                    Console.WriteLine($"{chunk[i]}\tscore={ImageDecision.Score(d.PImg, d.SMap):F4}\tp_img={d.PImg:F4}\ts_map={d.SMap:F4}\t{(anomalous ? "ANOMALOUS" : "normal")}");
                    records.Add(d, anomalous);
                }
            }
            try
            {
                foreach (var f in records.Finish()) Console.WriteLine($"wrote {f}");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Fail(e.Message);
            }
        }
        return failed ? 1 : 0;

        static bool IsImageError(Exception e) =>
            e is IOException or InvalidDataException or UnknownImageFormatException or NotSupportedException or UnauthorizedAccessException;

        void Fail(string message)
        {
            Console.Error.WriteLine($"bayespfl infer: {message}");
            failed = true;
        }
    }
}

/// <summary>The thresholds infer decides with and where they came from (for the log line and the records).</summary>
internal sealed record InferThresholds(double Image, double Pixel, string Source)
{
    /// <summary>Command-line values win; the rest comes from the sidecar (class entry, else pooled), else the default.</summary>
    public static InferThresholds Resolve(double? image, double? pixel, string headPath, string className)
    {
        var sidecarPath = ThresholdFile.PathFor(headPath);
        if (image is { } i && pixel is { } p) return new(i, p, "--threshold and --pixel-threshold");
        if (!File.Exists(sidecarPath))
        {
            var what = image is null && pixel is null ? "default" : "the command line and the default";
            return new(image ?? ImageDecision.DefaultThreshold, pixel ?? ImageDecision.DefaultThreshold, $"{what} (no sidecar {sidecarPath})");
        }
        var sidecar = ThresholdFile.Load(sidecarPath);
        var entry = sidecar.For(className);
        double fileImage = sidecar.ImageThreshold, filePixel = sidecar.PixelThreshold;
        var scope = $"pooled over {sidecar.Categories.Count} categories of {sidecar.Dataset}";
        if (entry is not null && double.IsFinite(entry.ImageThreshold))
        {
            (fileImage, filePixel, scope) = (entry.ImageThreshold, double.IsFinite(entry.PixelThreshold) ? entry.PixelThreshold : filePixel,
                $"category '{entry.Category}' of {sidecar.Dataset}");
        }
        double imageT = image ?? fileImage, pixelT = pixel ?? filePixel;
        if (!double.IsFinite(imageT) || !double.IsFinite(pixelT))
            throw new InvalidDataException($"{sidecarPath}: no {(double.IsFinite(imageT) ? "pixel" : "image")} threshold for class '{className}' " +
                                           $"(the labelled set lacked a class); pass {(double.IsFinite(imageT) ? "--pixel-threshold" : "--threshold")}");
        var source = image is null && pixel is null ? $"sidecar {sidecarPath} ({scope})" : $"the command line and sidecar {sidecarPath} ({scope})";
        return new(imageT, pixelT, source);
    }
}
