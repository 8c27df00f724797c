using System.CommandLine;
using BayesPfl.Engine.Weights.Convert;

namespace BayesPfl.Cli;

/// <summary>
/// `bayespfl convert`: a CLIP checkpoint (OpenAI archive, torch.save or open_clip state dict, HuggingFace safetensors)
/// to the engine's safetensors file, through <see cref="ClipConverter"/>. Failures print one line naming the input and
/// exit with 1; the output is written atomically, so a failed conversion leaves no file behind.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "CLIP checkpoint: .pt (TorchScript or torch.save), .bin or .safetensors" };
        var output = new Option<string>("--out") { Description = "engine weights file to write (.safetensors)", Required = true };
        var imageSize = new Option<int>("--image-size") { Description = "image side the engine runs at; the positional embedding is resized to its grid", DefaultValueFactory = _ => 518 };
        var bf16 = new Option<bool>("--bf16") { Description = "store bfloat16 instead of fp32" };
        var noRounding = new Option<bool>("--no-fp16-rounding") { Description = "keep fp32 weights as they are instead of rounding them to fp16 as the original loader does" };
        var visionHeads = new Option<int?>("--vision-heads") { Description = "vision attention heads (default width / 64)" };
        var textHeads = new Option<int?>("--text-heads") { Description = "text attention heads (default width / 64)" };
        var gelu = new Option<string>("--gelu") { Description = "GELU recorded in the config: erf (Bayes-PFL) or quick (stock CLIP)", DefaultValueFactory = _ => "erf" };
        gelu.AcceptOnlyFromAmong("erf", "quick");
        var command = new Command("convert", "Convert a CLIP checkpoint (or a Bayes-PFL head checkpoint, told apart by its 'MyModel' key) to the engine's safetensors weights")
        {
            input, output, imageSize, bf16, noRounding, visionHeads, textHeads, gelu,
        };
        command.SetAction(result => Run(result.GetValue(input)!, result.GetValue(output)!, new ConvertOptions
        {
            ImageSize = result.GetValue(imageSize),
            Bf16 = result.GetValue(bf16),
            RoundToFp16 = !result.GetValue(noRounding),
            VisionHeads = result.GetValue(visionHeads),
            TextHeads = result.GetValue(textHeads),
            Gelu = result.GetValue(gelu)!,
        }));
        return command;
    }

    private static int Run(string input, string output, ConvertOptions options)
    {
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            if (IsHead(input)) return ConvertHead(input, output, clock);
            var report = ClipConverter.Convert(input, output, options);
            Console.WriteLine($"format: {report.SourceFormat}");
            Console.WriteLine($"written: {report.TensorCount} tensors, {report.Parameters:N0} parameters{(options.Bf16 ? " (bf16)" : "")} to {report.OutputPath}");
            var c = report.Config;
            Console.WriteLine($"model: vision {c.Vision.Width}x{c.Vision.Layers} ({c.Vision.Heads} heads, patch {c.Vision.Patch}, grid {report.SourceGrid} -> {c.Vision.Grid}), " +
                              $"text {c.Text.Width}x{c.Text.Layers} ({c.Text.Heads} heads), embed {c.EmbedDim}");
            Console.WriteLine($"rounded to fp16: {report.RoundedToFp16.Count} tensors");
            Console.WriteLine($"dropped: {(report.Dropped.Count == 0 ? "none" : string.Join(", ", report.Dropped))}");
            if (report.Ignored.Count > 0) Console.WriteLine($"ignored (outside the model): {report.Ignored.Count} tensors, e.g. {string.Join(", ", report.Ignored.Take(5))}");
            Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }
        catch (ClipMismatchException e)
        {
            // The one case with several lines: every mismatching tensor is worth seeing at once. The library names its
            // options; here the user sets them with flags.
            Console.Error.WriteLine("bayespfl convert: " + e.Message.Replace("ConvertOptions.VisionHeads", "--vision-heads", StringComparison.Ordinal)
                                                                    .Replace("ConvertOptions.TextHeads", "--text-heads", StringComparison.Ordinal));
            return 1;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or NotSupportedException or FormatException)
        {
            Console.Error.WriteLine($"bayespfl convert: {e.Message}");
            return 1;
        }
    }

    private static bool IsHead(string input)
    {
        using var source = CheckpointSource.Open(input);
        return HeadConverter.IsHeadCheckpoint(source.Tensors);
    }

    /// <summary>A Bayes-PFL checkpoint ('MyModel' state dict) goes to the head engine file instead.</summary>
    private static int ConvertHead(string input, string output, System.Diagnostics.Stopwatch clock)
    {
        var report = HeadConverter.Convert(input, output);
        var c = report.Config;
        Console.WriteLine($"format: {report.SourceFormat} (Bayes-PFL head)");
        Console.WriteLine($"written: {report.TensorCount} tensors, {report.Parameters:N0} parameters to {report.OutputPath}");
        Console.WriteLine($"head: embed {c.Embed}, vision width {c.VisionWidth}, {c.Taps} taps, bank {c.Bank}x{c.Tokens}, {c.Steps} flow steps");
        Console.WriteLine($"dropped (dead or aliases): {report.Dropped.Count} tensors");
        Console.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
