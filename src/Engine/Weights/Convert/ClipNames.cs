using System.Text.RegularExpressions;

namespace BayesPfl.Engine.Weights.Convert;

/// <summary>
/// Maps a checkpoint's tensor names onto the engine's canonical names, which are OpenAI CLIP's state_dict names.
/// OpenAI TorchScript, torch.save state_dicts and open_clip use them already (behind an optional prefix such as
/// "module." or "state_dict."); HuggingFace CLIPModel names are translated, its separate q/k/v projections
/// concatenated into in_proj_weight/bias and its projection matrices transposed.
/// </summary>
public static partial class ClipNames
{
    private const string OpenAiAnchor = "visual.conv1.weight";
    private const string HfAnchor = "vision_model.embeddings.patch_embedding.weight";

    /// <summary>Entries of the state_dict that the engine does not use: dropped and listed in the report.</summary>
    public static readonly IReadOnlySet<string> Unused = new HashSet<string>(StringComparer.Ordinal)
    {
        "logit_scale", "input_resolution", "context_length", "vocab_size", "prompt_text_projection",
        "vision_model.embeddings.position_ids", "text_model.embeddings.position_ids",
    };

    private static readonly Dictionary<string, string> HfFixed = new(StringComparer.Ordinal)
    {
        ["vision_model.embeddings.class_embedding"] = "visual.class_embedding",
        ["vision_model.embeddings.patch_embedding.weight"] = "visual.conv1.weight",
        ["vision_model.embeddings.position_embedding.weight"] = "visual.positional_embedding",
        ["vision_model.pre_layrnorm.weight"] = "visual.ln_pre.weight", // sic: HF spells it "layrnorm"
        ["vision_model.pre_layrnorm.bias"] = "visual.ln_pre.bias",
        ["vision_model.post_layernorm.weight"] = "visual.ln_post.weight",
        ["vision_model.post_layernorm.bias"] = "visual.ln_post.bias",
        ["text_model.embeddings.token_embedding.weight"] = "token_embedding.weight",
        ["text_model.embeddings.position_embedding.weight"] = "positional_embedding",
        ["text_model.final_layer_norm.weight"] = "ln_final.weight",
        ["text_model.final_layer_norm.bias"] = "ln_final.bias",
    };

    private static readonly Dictionary<string, string> HfTransposed = new(StringComparer.Ordinal)
    {
        ["visual_projection.weight"] = "visual.proj",
        ["text_projection.weight"] = "text_projection",
    };

    private static readonly (string Hf, string OpenAi)[] HfLayer =
    [
        ("self_attn.out_proj.", "attn.out_proj."), ("layer_norm1.", "ln_1."), ("layer_norm2.", "ln_2."),
        ("mlp.fc1.", "mlp.c_fc."), ("mlp.fc2.", "mlp.c_proj."),
    ];

    [GeneratedRegex(@"^(vision_model|text_model)\.encoder\.layers\.(\d+)\.(.+)$")]
    private static partial Regex HfLayerName();

    /// <summary>The model's tensors under canonical names, plus the unused entries dropped and the tensors outside the model.</summary>
    public sealed record Mapped(Dictionary<string, SourceTensor> Tensors, List<string> Dropped, List<string> Ignored, bool HuggingFace);

    public static Mapped ToCanonical(IReadOnlyDictionary<string, SourceTensor> source, string path)
    {
        var anchors = source.Keys.Where(n => n == OpenAiAnchor || n.EndsWith("." + OpenAiAnchor, StringComparison.Ordinal)
                                             || n == HfAnchor || n.EndsWith("." + HfAnchor, StringComparison.Ordinal)).ToList();
        if (anchors.Count != 1)
            throw new ClipMismatchException(path, [anchors.Count == 0
                ? $"no CLIP vision tower: expected a tensor named [PREFIX.]{OpenAiAnchor} (OpenAI, open_clip) or [PREFIX.]{HfAnchor} (HuggingFace); " +
                  $"the file holds {source.Count} tensors, e.g. {string.Join(", ", source.Keys.Take(5))}"
                : $"several CLIP models in one file, at {string.Join(", ", anchors)}"]);
        var hf = anchors[0].EndsWith(HfAnchor, StringComparison.Ordinal);
        var prefix = anchors[0][..^(hf ? HfAnchor : OpenAiAnchor).Length];
        var inside = new Dictionary<string, SourceTensor>(StringComparer.Ordinal);
        var ignored = new List<string>();
        foreach (var (name, t) in source)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal)) inside[name[prefix.Length..]] = t;
            else ignored.Add(name);
        }
        // attn_mask: the text tower's causal mask, an attribute (not a parameter) of each block of a scripted CLIP.
        var dropped = inside.Keys.Where(n => Unused.Contains(n) || n.EndsWith(".attn_mask", StringComparison.Ordinal)).ToList();
        foreach (var d in dropped) inside.Remove(d);
        return new Mapped(hf ? FromHf(inside) : inside, dropped, ignored, hf);
    }

    private static Dictionary<string, SourceTensor> FromHf(Dictionary<string, SourceTensor> hf)
    {
        var result = new Dictionary<string, SourceTensor>(StringComparer.Ordinal);
        var qkv = new Dictionary<string, SourceTensor?[]>(StringComparer.Ordinal);
        foreach (var (name, t) in hf)
        {
            if (HfFixed.TryGetValue(name, out var fixedName)) result[fixedName] = t;
            else if (HfTransposed.TryGetValue(name, out var tName) && t.Shape.Length == 2) result[tName] = Transposed(t);
            else if (HfLayerName().Match(name) is { Success: true } m)
            {
                var layer = (m.Groups[1].Value == "vision_model" ? "visual.transformer.resblocks." : "transformer.resblocks.") + m.Groups[2].Value + ".";
                var rest = m.Groups[3].Value;
                var qkvIndex = rest.StartsWith("self_attn.q_proj.", StringComparison.Ordinal) ? 0
                    : rest.StartsWith("self_attn.k_proj.", StringComparison.Ordinal) ? 1
                    : rest.StartsWith("self_attn.v_proj.", StringComparison.Ordinal) ? 2 : -1;
                if (qkvIndex >= 0)
                {
                    var target = layer + "attn.in_proj_" + rest["self_attn.q_proj.".Length..];
                    if (!qkv.TryGetValue(target, out var parts)) qkv[target] = parts = new SourceTensor?[3];
                    parts[qkvIndex] = t;
                    continue;
                }
                var rule = HfLayer.FirstOrDefault(r => rest.StartsWith(r.Hf, StringComparison.Ordinal));
                result[rule.Hf is null ? name : layer + rule.OpenAi + rest[rule.Hf.Length..]] = t;
            }
            else result[name] = t; // not a CLIP tensor: kept under its own name, so validation lists it
        }
        foreach (var (target, parts) in qkv)
        {
            if (parts.All(p => p is { Shape.Length: > 0 }) && parts.All(p => p!.Shape.Skip(1).SequenceEqual(parts[0]!.Shape.Skip(1))))
                result[target] = Concatenated(parts!);
            else
                foreach (var (p, i) in parts.Select((p, i) => (p, i)).Where(x => x.p is not null))
                    result[$"{target} (HF {"qkv"[i]}_proj part)"] = p!;
        }
        return result;
    }

    private static SourceTensor Transposed(SourceTensor t)
    {
        int rows = t.Shape[0], cols = t.Shape[1];
        return new SourceTensor([cols, rows], () =>
        {
            var src = t.Read();
            var dst = new float[src.Length];
            for (var r = 0; r < rows; r++)
                for (var c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
            return dst;
        });
    }

    private static SourceTensor Concatenated(SourceTensor[] parts)
    {
        var shape = (int[])parts[0].Shape.Clone();
        shape[0] = parts.Sum(p => p.Shape[0]);
        return new SourceTensor(shape, () => parts.SelectMany(p => p.Read()).ToArray());
    }
}
