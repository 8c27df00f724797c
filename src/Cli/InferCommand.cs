using System.CommandLine;
using System.Text.Json;
using BayesPfl.Engine.Detection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace BayesPfl.Cli;

/// <summary>
/// `bayespfl infer`: zero-shot detection on image files (or every image directly inside given folders) with an
/// <see cref="AnomalyDetector"/>. Per image one stdout line (p_img, s_map, decision); with --out also one JSON line in
/// results.jsonl and the blurred map at the image's size as an 8-bit grayscale PNG (value·255, no per-image
/// stretching, so brightness is comparable across images). The decision is p_img ≥ threshold: the image-level
/// probability is the only score meaningful on its own (the paper's fused score needs a whole test set, spec 8).
/// A missing or unreadable image prints an error line and the run goes on; the exit code is then 1.
/// </summary>
internal static class InferCommand
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"];

    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs") { Description = "image files and/or folders of images", Arity = ArgumentArity.OneOrMore };
        var clip = new Option<string>("--clip") { Description = "CLIP engine file (bayespfl convert of a CLIP checkpoint)", Required = true };
        var head = new Option<string>("--head") { Description = "head engine file (bayespfl convert of a Bayes-PFL checkpoint)", Required = true };
        var className = new Option<string>("--class") { Description = "object category, e.g. bottle or pcb1", Required = true };
        var output = new Option<string?>("--out") { Description = "folder for results.jsonl and the map PNGs" };
        var threshold = new Option<double>("--threshold") { Description = "p_img at or above which an image is called anomalous", DefaultValueFactory = _ => 0.5 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
        device.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        var command = new Command("infer", "Detect anomalies in images with Bayes-PFL (zero-shot)") { inputs, clip, head, className, output, threshold, device };
        command.SetAction(r => Run(r.GetValue(inputs)!, r.GetValue(clip)!, r.GetValue(head)!, r.GetValue(className)!, r.GetValue(output),
            r.GetValue(threshold), Enum.Parse<DetectorDevice>(r.GetValue(device)!, ignoreCase: true)));
        return command;
    }

    private static int Run(string[] inputs, string clipPath, string headPath, string className, string? output, double threshold, DetectorDevice device)
    {
        var failed = false;
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
                files.AddRange(Directory.EnumerateFiles(input).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal));
            else if (File.Exists(input)) files.Add(input);
            else
            {
                Console.Error.WriteLine($"bayespfl infer: {input}: no such file or folder");
                failed = true;
            }
        }
        AnomalyDetector detector;
        try
        {
            detector = AnomalyDetector.Load(clipPath, headPath, new DetectorOptions { Device = device });
        }
        catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException or ArgumentException)
        {
            Console.Error.WriteLine($"bayespfl infer: {e.Message}");
            return 1;
        }
        using (detector)
        {
            StreamWriter? jsonl = null;
            if (output is not null)
            {
                Directory.CreateDirectory(output);
                jsonl = new StreamWriter(Path.Combine(output, "results.jsonl"), append: false);
            }
            using (jsonl)
            {
                Console.WriteLine($"backend {detector.Backend.Name}, class '{className}', threshold {threshold}");
                foreach (var file in files)
                {
                    AnomalyResult d;
                    try
                    {
                        d = detector.Detect(file, className);
                    }
                    catch (Exception e) when (e is IOException or InvalidDataException or UnknownImageFormatException or NotSupportedException or UnauthorizedAccessException)
                    {
                        Console.Error.WriteLine($"bayespfl infer: {file}: {e.Message}");
                        failed = true;
                        continue;
                    }
                    var anomalous = d.PImg >= threshold;
                    Console.WriteLine($"{file}\tp_img={d.PImg:F4}\ts_map={d.SMap:F4}\t{(anomalous ? "ANOMALOUS" : "normal")}");
                    if (output is null) continue;
                    var mapFile = Path.Combine(output, Path.GetFileNameWithoutExtension(file) + ".map.png");
                    SaveGray(mapFile, d.BlurredAtImageSize, d.ImageWidth, d.ImageHeight);
                    jsonl!.WriteLine(Json(d, className, anomalous, mapFile));
                }
            }
        }
        return failed ? 1 : 0;
    }

    private static string Json(AnomalyResult d, string className, bool anomalous, string mapFile)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("path", d.Path);
            w.WriteString("class", className);
            w.WriteNumber("p_img", d.PImg);
            w.WriteNumber("s_map", d.SMap);
            w.WriteNumber("top_k", d.TopK);
            w.WriteBoolean("anomalous", anomalous);
            w.WriteString("map", mapFile);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void SaveGray(string path, float[] map, int width, int height)
    {
        var bytes = new byte[map.Length];
        for (var i = 0; i < map.Length; i++) bytes[i] = (byte)Math.Round(Math.Clamp(map[i], 0f, 1f) * 255f);
        using var image = Image.LoadPixelData<L8>(bytes, width, height);
        image.SaveAsPng(path);
    }
}
