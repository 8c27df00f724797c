using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Weights;

namespace BayesPfl.Engine.Model;

/// <summary>
/// A CLIP engine file with fixed random weights, for machines that have no pretrained checkpoint (the demo,
/// training smoke runs, benchmarks at small size). The file has the converter's layout exactly (names and
/// order from <see cref="ClipTensorNames.Expected"/>, fp32, the config and format in the metadata), so
/// <see cref="ClipWeights.Load"/> cannot tell it from a converted checkpoint. Initialisation follows OpenAI
/// CLIP's initialize_parameters, so activations have the magnitudes a real tower has at the start of training:
/// token embedding N(0, 0.02²), text positions N(0, 0.01²), class token and visual positions N(0, W⁻¹),
/// attention in-projection N(0, W⁻¹), out-projection and MLP c_proj N(0, W⁻¹/(2L)), c_fc N(0, 1/(2W)),
/// the two projections N(0, W⁻¹), the patch conv N(0, 1/(3p²)) (fan-in scaling; CLIP leaves it at
/// PyTorch's default), LayerNorm weight 1 and bias 0, every other bias 0. Values come from the engine's
/// seeded <see cref="GaussianNoise"/> in file order, so a (config, seed) pair names one file on every machine.
/// </summary>
public static class RandomClip
{
    /// <summary>Metadata key holding the seed, so a file says it is random (and which).</summary>
    public const string SeedKey = "bayespfl.random_seed";

    /// <summary>
    /// A CLIP small enough that a training step takes well under a second per image on two CPU cores:
    /// 112 px at patch 14 (an 8x8 grid, 65 tokens), width 64, 4 vision layers (the spec's four evenly
    /// spaced taps land on layers 1..4), 2 text layers, joint and text width 64 (the head requires them
    /// equal). The full 49408-row vocabulary is kept so that the real CLIP BPE tokenizer's ids are valid.
    /// </summary>
    public static ClipConfig Tiny => new()
    {
        Vision = new VisionConfig { ImageSize = 112, Patch = 14, Width = 64, Layers = 4, Heads = 4, MlpWidth = 256 },
        Text = new TextConfig { ContextLength = 77, VocabSize = 49408, Width = 64, Layers = 2, Heads = 4, MlpWidth = 256 },
        EmbedDim = 64,
        Gelu = "erf",
    };

    /// <summary>Writes the engine file for <paramref name="config"/> and <paramref name="seed"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, ClipConfig config, ulong seed)
    {
        ClipConfigRules.Validate(config, "RandomClip config");
        var noise = new GaussianNoise(seed);
        var writer = new SafeTensorsWriter();
        foreach (var (name, shape) in ClipTensorNames.Expected(config))
        {
            var values = new float[shape.Aggregate(1L, (a, d) => checked(a * d))];
            var std = StdOf(name, config);
            if (std is { } s)
            {
                noise.Fill(values);
                for (var i = 0; i < values.Length; i++) values[i] *= s;
            }
            else if (IsLayerNormWeight(name))
            {
                Array.Fill(values, 1f);
            }
            writer.Add(name, values, shape);
        }
        writer.Metadata(ClipConfig.MetadataKey, config.ToJson())
              .Metadata(ClipConfig.FormatKey, ClipConfig.FormatValue)
              .Metadata(SeedKey, seed.ToString(System.Globalization.CultureInfo.InvariantCulture))
              .Save(path);
    }

    /// <summary>The standard deviation of a randomly drawn tensor, or null for constants (LayerNorm, biases).</summary>
    private static float? StdOf(string name, ClipConfig c)
    {
        var v = c.Vision;
        var t = c.Text;
        switch (name)
        {
            case ClipTensorNames.VisualConv1: return 1f / MathF.Sqrt(3 * v.Patch * v.Patch);
            case ClipTensorNames.VisualClassEmbedding:
            case ClipTensorNames.VisualPositionalEmbedding:
            case ClipTensorNames.VisualProj: return 1f / MathF.Sqrt(v.Width);
            case ClipTensorNames.TokenEmbedding: return 0.02f;
            case ClipTensorNames.PositionalEmbedding: return 0.01f;
            case ClipTensorNames.TextProjection: return 1f / MathF.Sqrt(t.Width);
        }
        var (width, layers, part) =
            name.StartsWith(ClipTensorNames.VisualBlocksPrefix, StringComparison.Ordinal) ? (v.Width, v.Layers, BlockPart(name, ClipTensorNames.VisualBlocksPrefix)) :
            name.StartsWith(ClipTensorNames.TextBlocksPrefix, StringComparison.Ordinal) ? (t.Width, t.Layers, BlockPart(name, ClipTensorNames.TextBlocksPrefix)) :
            (0, 0, "");
        var attn = 1f / MathF.Sqrt(width);
        var proj = attn / MathF.Sqrt(2 * layers);
        return part switch
        {
            ClipTensorNames.Block.InProjWeight => attn,
            ClipTensorNames.Block.OutProjWeight or ClipTensorNames.Block.ProjWeight => proj,
            ClipTensorNames.Block.FcWeight => 1f / MathF.Sqrt(2 * width),
            _ => null,
        };
    }

    /// <summary>"attn.in_proj_weight" of "visual.transformer.resblocks.3.attn.in_proj_weight".</summary>
    private static string BlockPart(string name, string prefix)
    {
        var rest = name.AsSpan(prefix.Length);
        return rest[(rest.IndexOf('.') + 1)..].ToString();
    }

    private static bool IsLayerNormWeight(string name) =>
        name is ClipTensorNames.VisualLnPreWeight or ClipTensorNames.VisualLnPostWeight or ClipTensorNames.LnFinalWeight ||
        name.EndsWith("." + ClipTensorNames.Block.Ln1Weight, StringComparison.Ordinal) ||
        name.EndsWith("." + ClipTensorNames.Block.Ln2Weight, StringComparison.Ordinal);
}
