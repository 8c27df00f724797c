using BayesPfl.Engine.Model;

namespace BayesPfl.Engine.Weights.Convert;

/// <summary>
/// Converts a CLIP checkpoint (OpenAI TorchScript archive, torch.save state_dict or a dict wrapping one, open_clip
/// checkpoint, HuggingFace CLIPModel safetensors) into the engine's file: safetensors with OpenAI's canonical
/// names, fp32 (or bf16), the visual positional embedding resized to the run grid with PyTorch's antialiased
/// bicubic (spec §3.1), and the <see cref="ClipConfig"/> in the metadata. The file is written atomically.
/// </summary>
public static class ClipConverter
{
    public static ConvertReport Convert(string inputPath, string outputPath, ConvertOptions? options = null)
    {
        options ??= new ConvertOptions();
        using var source = CheckpointSource.Open(inputPath);
        var mapped = ClipNames.ToCanonical(source.Tensors, inputPath);
        var layout = ClipLayout.Resolve(mapped.Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Shape, StringComparer.Ordinal), options);
        if (layout.Problems.Count > 0) throw new ClipMismatchException(inputPath, layout.Problems);

        var config = layout.Config;
        var writer = new SafeTensorsWriter();
        var rounded = new List<string>();
        long parameters = 0;
        var count = 0;
        foreach (var (name, expectedShape) in ClipLayout.Expected(config, layout.SourceGrid))
        {
            var values = mapped.Tensors[name].Read();
            var shape = expectedShape;
            if (options.RoundToFp16 && ClipLayout.InFp16Group(name))
            {
                for (var i = 0; i < values.Length; i++) values[i] = (float)(Half)values[i];
                rounded.Add(name);
            }
            if (name == "visual.positional_embedding")
            {
                values = AntialiasedResize.PositionalEmbedding(values, config.Vision.Width, layout.SourceGrid, config.Vision.Grid);
                shape = [config.Vision.Tokens, config.Vision.Width];
            }
            if (options.Bf16) writer.AddBf16(name, values, shape);
            else writer.Add(name, values, shape);
            parameters += values.Length;
            count++;
        }
        writer.Metadata(ClipConfig.MetadataKey, config.ToJson())
              .Metadata(ClipConfig.FormatKey, ClipConfig.FormatValue)
              .Metadata("bayespfl.converted_from", $"{Path.GetFileName(inputPath)} ({(mapped.HuggingFace ? "HuggingFace " : "")}{source.Format})");
        writer.Save(outputPath);
        return new ConvertReport(inputPath, outputPath, (mapped.HuggingFace ? "HuggingFace " : "") + source.Format, config, layout.SourceGrid,
                                 count, parameters, mapped.Dropped, mapped.Ignored, rounded);
    }
}
