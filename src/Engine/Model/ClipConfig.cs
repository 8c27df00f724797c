using System.Text.Json;
using System.Text.Json.Serialization;

namespace BayesPfl.Engine.Model;

/// <summary>
/// The shape of a CLIP model as the engine runs it. Stored as JSON in the engine file's safetensors
/// metadata under <see cref="MetadataKey"/>. Defaults are OpenAI ViT-L/14-336 run at 518 px with exact GELU
/// (what Bayes-PFL uses, spec §3).
/// </summary>
public sealed record ClipConfig
{
    public const string MetadataKey = "bayespfl.clip_config";
    public const string FormatKey = "bayespfl.format";
    public const string FormatValue = "bayespfl-clip/1";

    public VisionConfig Vision { get; init; } = new();

    public TextConfig Text { get; init; } = new();

    /// <summary>Joint embedding width (visual.proj and text_projection output).</summary>
    public int EmbedDim { get; init; } = 768;

    /// <summary>"erf" (exact GELU, Bayes-PFL) or "quick" (QuickGELU, stock OpenAI CLIP).</summary>
    public string Gelu { get; init; } = "erf";

    public string ToJson() => JsonSerializer.Serialize(this, ClipConfigJson.Default.ClipConfig);

    public static ClipConfig FromJson(string json) =>
        JsonSerializer.Deserialize(json, ClipConfigJson.Default.ClipConfig) ?? throw new JsonException("null CLIP config");

    public static ClipConfig VitL14At518 => new();
}

public sealed record VisionConfig
{
    /// <summary>Side of the (square) input image the engine runs at.</summary>
    public int ImageSize { get; init; } = 518;

    public int Patch { get; init; } = 14;

    public int Width { get; init; } = 1024;

    public int Layers { get; init; } = 24;

    public int Heads { get; init; } = 16;

    /// <summary>Hidden width of the MLP (4 x width in CLIP).</summary>
    public int MlpWidth { get; init; } = 4096;

    [JsonIgnore]
    public int Grid => ImageSize / Patch;

    [JsonIgnore]
    public int Tokens => Grid * Grid + 1;
}

public sealed record TextConfig
{
    public int ContextLength { get; init; } = 77;

    /// <summary>Token-embedding rows (49408 in OpenAI CLIP; Bayes-PFL appends one zero row, 49409).</summary>
    public int VocabSize { get; init; } = 49408;

    public int Width { get; init; } = 768;

    public int Layers { get; init; } = 12;

    public int Heads { get; init; } = 12;

    public int MlpWidth { get; init; } = 3072;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false)]
[JsonSerializable(typeof(ClipConfig))]
internal sealed partial class ClipConfigJson : JsonSerializerContext
{
}
