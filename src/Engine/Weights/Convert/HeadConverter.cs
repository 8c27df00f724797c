using BayesPfl.Engine.Detection;
using BayesPfl.Engine.Model.Head;

namespace BayesPfl.Engine.Weights.Convert;

/// <summary>What <see cref="HeadConverter.Convert"/> did.</summary>
/// <param name="Dropped">Checkpoint tensors not written: the dead decoders and p_mu, and the alias paths of shared encoders.</param>
public sealed record HeadConvertReport(string InputPath, string OutputPath, string SourceFormat, HeadConfig Config,
    int TensorCount, long Parameters, IReadOnlyList<string> Dropped);

/// <summary>
/// A Bayes-PFL checkpoint (spec 12.1: torch.save of {'MyModel': head state_dict}, aliased tensors stored once;
/// a bare state dict or a safetensors file of it also works) → the head engine file: the tensors
/// <see cref="HeadWeights"/> needs, under their checkpoint names and shapes, fp32. Sizes are read from the
/// shapes and every tensor is checked against them; one error lists every problem.
/// </summary>
public static class HeadConverter
{
    public const string FormatValue = "bayespfl-head/1";

    /// <summary>The state-dict key of the released checkpoints.</summary>
    public const string RootKey = "MyModel";

    /// <summary>True when the checkpoint holds a Bayes-PFL head (its tensors live under 'MyModel.' or it has prompt_context).</summary>
    public static bool IsHeadCheckpoint(IReadOnlyDictionary<string, SourceTensor> tensors) =>
        tensors.Count > 0 && (tensors.Keys.All(k => k.StartsWith(RootKey + ".", StringComparison.Ordinal)) || tensors.ContainsKey("prompt_context"));

    public static HeadConvertReport Convert(string inputPath, string outputPath)
    {
        using var source = CheckpointSource.Open(inputPath);
        var prefix = source.Tensors.Keys.All(k => k.StartsWith(RootKey + ".", StringComparison.Ordinal)) ? RootKey + "." : "";
        var tensors = source.Tensors.ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        var config = HeadFile.InferConfig(n => tensors.TryGetValue(n, out var t) ? t.Shape : null, inputPath);
        var table = HeadWeights.Table(config);
        var problems = new List<string>();
        foreach (var (name, (shape, _)) in table)
        {
            if (!tensors.TryGetValue(name, out var t)) problems.Add($"missing {prefix}{name} {Text(shape)}");
            else if (!t.Shape.SequenceEqual(shape)) problems.Add($"mis-shaped {prefix}{name}: {t.ShapeText}, expected {Text(shape)}");
        }
        var dropped = new List<string>();
        foreach (var name in tensors.Keys.Where(n => !table.ContainsKey(n)))
            if (HeadWeights.DeadPrefixes.Any(name.StartsWith)) dropped.Add(name);
            else problems.Add($"unexpected {prefix}{name} {tensors[name].ShapeText}");
        if (problems.Count > 0)
            throw new InvalidDataException($"{inputPath}: not a Bayes-PFL head checkpoint ({problems.Count} problems):\n  " + string.Join("\n  ", problems));

        var writer = new SafeTensorsWriter().Metadata(Model.ClipConfig.FormatKey, FormatValue);
        long parameters = 0;
        foreach (var (name, (shape, _)) in table)
        {
            var data = tensors[name].Read();
            writer.Add(name, data, shape);
            parameters += data.Length;
        }
        writer.Save(outputPath);
        return new HeadConvertReport(inputPath, outputPath, source.Format, config, table.Count, parameters, dropped);
    }

    private static string Text(int[] shape) => "[" + string.Join(",", shape) + "]";
}
