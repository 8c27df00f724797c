using BayesPfl.Engine.Backends;

namespace BayesPfl.Engine.Model;

/// <summary>
/// What makes a <see cref="ClipConfig"/> runnable, checked once where a config enters the engine (file
/// metadata, CLI) so that the towers can rely on it.
/// </summary>
public static class ClipConfigRules
{
    /// <summary>Throws an <see cref="InvalidDataException"/> naming <paramref name="source"/> and every broken rule.</summary>
    public static void Validate(ClipConfig c, string source)
    {
        var errors = new List<string>();
        var v = c.Vision;
        var t = c.Text;
        Positive(errors, "vision.image_size", v.ImageSize);
        Positive(errors, "vision.patch", v.Patch);
        Positive(errors, "vision.width", v.Width);
        Positive(errors, "vision.layers", v.Layers);
        Positive(errors, "vision.heads", v.Heads);
        Positive(errors, "vision.mlp_width", v.MlpWidth);
        Positive(errors, "text.context_length", t.ContextLength);
        Positive(errors, "text.vocab_size", t.VocabSize);
        Positive(errors, "text.width", t.Width);
        Positive(errors, "text.layers", t.Layers);
        Positive(errors, "text.heads", t.Heads);
        Positive(errors, "text.mlp_width", t.MlpWidth);
        Positive(errors, "embed_dim", c.EmbedDim);
        if (v.Patch > 0 && v.ImageSize % v.Patch != 0)
            errors.Add($"vision.image_size {v.ImageSize} is not a multiple of vision.patch {v.Patch}");
        if (v.Heads > 0 && v.Width % v.Heads != 0)
            errors.Add($"vision.width {v.Width} is not a multiple of vision.heads {v.Heads}");
        if (t.Heads > 0 && t.Width % t.Heads != 0)
            errors.Add($"text.width {t.Width} is not a multiple of text.heads {t.Heads}");
        if (c.Gelu is not ("erf" or "quick"))
            errors.Add($"gelu is \"{c.Gelu}\", expected \"erf\" or \"quick\"");
        if (errors.Count > 0)
            throw new InvalidDataException($"{source}: invalid CLIP config: {string.Join("; ", errors)}");
    }

    public static GeluKind GeluOf(ClipConfig c) => c.Gelu switch
    {
        "erf" => GeluKind.Erf,
        "quick" => GeluKind.Quick,
        _ => throw new InvalidDataException($"CLIP config: gelu is \"{c.Gelu}\", expected \"erf\" or \"quick\""),
    };

    /// <summary>One line for error messages, e.g. "vision 518px/14 w1024 L24 H16, text w768 L12 H12 V49408, embed 768, erf".</summary>
    public static string Describe(ClipConfig c) =>
        $"vision {c.Vision.ImageSize}px/{c.Vision.Patch} w{c.Vision.Width} L{c.Vision.Layers} H{c.Vision.Heads}, " +
        $"text w{c.Text.Width} L{c.Text.Layers} H{c.Text.Heads} V{c.Text.VocabSize}, embed {c.EmbedDim}, {c.Gelu}";

    private static void Positive(List<string> errors, string name, int value)
    {
        if (value <= 0) errors.Add($"{name} is {value}, must be positive");
    }
}
