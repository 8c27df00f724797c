using BayesPfl.Engine.Model;

namespace BayesPfl.Engine.Weights.Convert;

/// <summary>How <see cref="ClipConverter"/> turns a CLIP checkpoint into an engine file.</summary>
public sealed record ConvertOptions
{
    /// <summary>Image side the engine will run at; the visual positional embedding is resized to its grid.</summary>
    public int ImageSize { get; init; } = 518;

    /// <summary>Store the tensors as bfloat16 instead of fp32.</summary>
    public bool Bf16 { get; init; }

    /// <summary>
    /// Round the linear, conv, attention and projection weights to fp16 first, as the original loader does for any
    /// checkpoint (spec §12.2), for bit parity with it on fp32 checkpoints. A no-op on OpenAI's own archive.
    /// </summary>
    public bool RoundToFp16 { get; init; } = true;

    /// <summary>Attention heads; null = width / 64 as in OpenAI CLIP (an error if the width is not a multiple of 64).</summary>
    public int? VisionHeads { get; init; }

    public int? TextHeads { get; init; }

    /// <summary>Activation recorded in the config: "erf" (Bayes-PFL) or "quick" (stock CLIP).</summary>
    public string Gelu { get; init; } = "erf";

    /// <summary>
    /// The architecture the input must have (its heads and GELU are used; the image size still comes from ImageSize); null
    /// infers it from the tensor shapes and checks that they are consistent.
    /// </summary>
    public ClipConfig? Expect { get; init; }
}

/// <summary>What a conversion did.</summary>
public sealed record ConvertReport(
    string InputPath,
    string OutputPath,
    string SourceFormat,
    ClipConfig Config,
    int SourceGrid,
    int TensorCount,
    long Parameters,
    IReadOnlyList<string> Dropped,
    IReadOnlyList<string> Ignored,
    IReadOnlyList<string> RoundedToFp16)
{
    public override string ToString() =>
        $"{InputPath} ({SourceFormat}) -> {OutputPath}: {TensorCount} tensors, {Parameters:N0} parameters, " +
        $"vision {Config.Vision.Width}x{Config.Vision.Layers} patch {Config.Vision.Patch} grid {SourceGrid}->{Config.Vision.Grid}, " +
        $"text {Config.Text.Width}x{Config.Text.Layers}, embed {Config.EmbedDim}; {RoundedToFp16.Count} tensors rounded to fp16; " +
        $"dropped [{string.Join(", ", Dropped)}]" + (Ignored.Count > 0 ? $"; {Ignored.Count} tensors outside the model ignored" : "");
}

/// <summary>The input is not the CLIP the converter expects; the message lists every problem at once.</summary>
public sealed class ClipMismatchException(string path, IReadOnlyList<string> problems)
    : Exception($"{path}: not a convertible CLIP checkpoint ({problems.Count} problems):\n  " + string.Join("\n  ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
