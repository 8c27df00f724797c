using System.Text.RegularExpressions;
using BayesPfl.Engine.Model;

namespace BayesPfl.Engine.Weights.Convert;

/// <summary>
/// The canonical tensor list of a CLIP model (spec §12.2) and the check of a checkpoint against it: the config is
/// inferred from the shapes (or given), the expected names and shapes are derived from it, and every missing,
/// unexpected or mis-shaped tensor is reported at once.
/// </summary>
public static partial class ClipLayout
{
    /// <summary>The config, the grid of the checkpoint's positional embedding, and every problem found.</summary>
    public sealed record Result(ClipConfig Config, int SourceGrid, IReadOnlyList<string> Problems);

    private const int Unknown = -1; // a dimension that could not be inferred; it (and anything derived from it) matches any size

    [GeneratedRegex(@"^(visual\.)?transformer\.resblocks\.(\d+)\.")]
    private static partial Regex LayerName();

    /// <summary>
    /// Tensors the original loader rounds to fp16 (spec §12.2): weights and biases of every linear, conv and
    /// attention layer, and both projection matrices. Embeddings and LayerNorms stay fp32.
    /// </summary>
    public static bool InFp16Group(string name) =>
        name is "visual.proj" or "text_projection" or "visual.conv1.weight"
        || name.EndsWith(".attn.in_proj_weight", StringComparison.Ordinal) || name.EndsWith(".attn.in_proj_bias", StringComparison.Ordinal)
        || name.Contains(".attn.out_proj.", StringComparison.Ordinal) || name.Contains(".mlp.c_fc.", StringComparison.Ordinal)
        || name.Contains(".mlp.c_proj.", StringComparison.Ordinal);

    /// <summary>Every canonical tensor of <paramref name="c"/>; the visual positional embedding at the source grid.</summary>
    public static IReadOnlyList<(string Name, int[] Shape)> Expected(ClipConfig c, int sourceGrid) =>
        ClipTensorNames.Expected(c, sourceGrid == Unknown ? Unknown : sourceGrid * sourceGrid + 1);

    /// <summary>Infers (or takes from options.Expect) the config and checks every tensor against it.</summary>
    public static Result Resolve(IReadOnlyDictionary<string, int[]> shapes, ConvertOptions options)
    {
        var problems = new List<string>();
        var config = options.Expect ?? Infer(shapes, options, problems);
        config = config with { Vision = config.Vision with { ImageSize = options.ImageSize } };
        if (config.Vision.Patch > 0 && (options.ImageSize <= 0 || options.ImageSize % config.Vision.Patch != 0))
            problems.Add($"image size {options.ImageSize} is not a positive multiple of the patch size {config.Vision.Patch}");
        var grid = SourceGrid(shapes, problems);
        var expected = Expected(config, grid);
        var expectedNames = expected.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, shape) in expected)
        {
            if (!shapes.TryGetValue(name, out var actual)) problems.Add($"missing {name} {Text(shape)}");
            else if (!Matches(actual, shape)) problems.Add($"{name} has shape {Text(actual)}, expected {Text(shape)}");
        }
        foreach (var (name, shape) in shapes)
            if (!expectedNames.Contains(name)) problems.Add($"unexpected {name} {Text(shape)}");
        return new Result(config, grid, problems);
    }

    private static ClipConfig Infer(IReadOnlyDictionary<string, int[]> shapes, ConvertOptions o, List<string> problems)
    {
        int Dim(string name, int axis) => shapes.TryGetValue(name, out var s) && s.Length > axis ? s[axis] : Unknown;
        int First(params int[] candidates) => candidates.FirstOrDefault(d => d != Unknown, Unknown);
        var vw = First(Dim("visual.conv1.weight", 0), Dim("visual.class_embedding", 0), Dim("visual.ln_pre.weight", 0));
        var tw = First(Dim("ln_final.weight", 0), Dim("token_embedding.weight", 1), Dim("positional_embedding", 1));
        var vLayers = Layers(shapes, visual: true);
        var tLayers = Layers(shapes, visual: false);
        if (vLayers == 0) problems.Add("no visual.transformer.resblocks.* tensors");
        if (tLayers == 0) problems.Add("no transformer.resblocks.* tensors (text tower)");
        return new ClipConfig
        {
            Vision = new VisionConfig
            {
                ImageSize = o.ImageSize,
                Patch = Dim("visual.conv1.weight", 2),
                Width = vw,
                Layers = vLayers,
                Heads = Heads("vision", vw, o.VisionHeads, problems),
                MlpWidth = First(Dim("visual.transformer.resblocks.0.mlp.c_fc.weight", 0), vw == Unknown ? Unknown : 4 * vw),
            },
            Text = new TextConfig
            {
                ContextLength = Dim("positional_embedding", 0),
                VocabSize = Dim("token_embedding.weight", 0),
                Width = tw,
                Layers = tLayers,
                Heads = Heads("text", tw, o.TextHeads, problems),
                MlpWidth = First(Dim("transformer.resblocks.0.mlp.c_fc.weight", 0), tw == Unknown ? Unknown : 4 * tw),
            },
            EmbedDim = First(Dim("visual.proj", 1), Dim("text_projection", 1)),
            Gelu = o.Gelu,
        };
    }

    private static int Layers(IReadOnlyDictionary<string, int[]> shapes, bool visual) =>
        shapes.Keys.Select(n => LayerName().Match(n)).Where(m => m.Success && m.Groups[1].Success == visual)
            .Select(m => int.TryParse(m.Groups[2].Value, out var l) && l < 10_000 ? l + 1 : 0).DefaultIfEmpty(0).Max();

    private static int Heads(string tower, int width, int? given, List<string> problems)
    {
        if (given is { } h)
        {
            if (h <= 0 || (width > 0 && width % h != 0)) problems.Add($"{tower} heads {h} do not divide the width {width}");
            return h;
        }
        if (width > 0 && width % 64 == 0) return width / 64;
        if (width > 0) problems.Add($"cannot infer the {tower} heads: width {width} is not a multiple of 64; set ConvertOptions.{(tower == "vision" ? "VisionHeads" : "TextHeads")}");
        return Unknown;
    }

    private static int SourceGrid(IReadOnlyDictionary<string, int[]> shapes, List<string> problems)
    {
        if (!shapes.TryGetValue("visual.positional_embedding", out var s) || s.Length != 2) return Unknown;
        var g = (int)Math.Round(Math.Sqrt(Math.Max(s[0] - 1, 0)));
        if (g * g + 1 == s[0] && g > 0) return g;
        problems.Add($"visual.positional_embedding has {s[0]} rows, not 1 + a square grid");
        return Unknown;
    }

    private static bool Matches(int[] actual, int[] expected) =>
        actual.Length == expected.Length && actual.Zip(expected).All(p => p.Second < 0 || p.First == p.Second);

    private static string Text(int[] shape) => "[" + string.Join(",", shape.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
}
