namespace BayesPfl.Engine.Model;

/// <summary>
/// The one table of CLIP tensor names and shapes in an engine file: OpenAI CLIP's state_dict names, so
/// that a converted checkpoint keeps the names people know. The loader, the converter and the tests all
/// take names from here; the PyTorch oracle (tests/reference/clip_towers.py) writes the same strings.
/// </summary>
public static class ClipTensorNames
{
    public const string VisualConv1 = "visual.conv1.weight";
    public const string VisualClassEmbedding = "visual.class_embedding";
    public const string VisualPositionalEmbedding = "visual.positional_embedding";
    public const string VisualLnPreWeight = "visual.ln_pre.weight";
    public const string VisualLnPreBias = "visual.ln_pre.bias";
    public const string VisualLnPostWeight = "visual.ln_post.weight";
    public const string VisualLnPostBias = "visual.ln_post.bias";

    /// <summary>[W,E], applied as x @ proj.</summary>
    public const string VisualProj = "visual.proj";

    public const string TokenEmbedding = "token_embedding.weight";
    public const string PositionalEmbedding = "positional_embedding";
    public const string LnFinalWeight = "ln_final.weight";
    public const string LnFinalBias = "ln_final.bias";

    /// <summary>[Wt,E], applied as x @ text_projection.</summary>
    public const string TextProjection = "text_projection";

    public const string VisualBlocksPrefix = "visual.transformer.resblocks.";
    public const string TextBlocksPrefix = "transformer.resblocks.";

    /// <summary>The parts of one residual block, relative to its prefix "...resblocks.L.".</summary>
    public static class Block
    {
        public const string Ln1Weight = "ln_1.weight";
        public const string Ln1Bias = "ln_1.bias";

        /// <summary>[3C,C] packed in-projection: rows 0..C-1 = Q, C..2C-1 = K, 2C..3C-1 = V.</summary>
        public const string InProjWeight = "attn.in_proj_weight";
        public const string InProjBias = "attn.in_proj_bias";
        public const string OutProjWeight = "attn.out_proj.weight";
        public const string OutProjBias = "attn.out_proj.bias";
        public const string Ln2Weight = "ln_2.weight";
        public const string Ln2Bias = "ln_2.bias";
        public const string FcWeight = "mlp.c_fc.weight";
        public const string FcBias = "mlp.c_fc.bias";
        public const string ProjWeight = "mlp.c_proj.weight";
        public const string ProjBias = "mlp.c_proj.bias";
    }

    /// <summary>The prefix of block <paramref name="layer"/> (0-based, as in the state_dict).</summary>
    public static string VisualBlock(int layer) => $"{VisualBlocksPrefix}{layer}.";

    public static string TextBlock(int layer) => $"{TextBlocksPrefix}{layer}.";

    /// <summary>
    /// Every tensor an engine file for <paramref name="c"/> holds, with its shape, in file order.
    /// <paramref name="visualPositionRows"/> overrides the rows of the visual positional embedding (a checkpoint
    /// before conversion holds it at its own grid). The converter checks checkpoints against this list with
    /// dimensions it could not infer set negative, which stay negative in every derived dimension.
    /// </summary>
    public static IReadOnlyList<(string Name, int[] Shape)> Expected(ClipConfig c, int? visualPositionRows = null)
    {
        var v = c.Vision;
        var t = c.Text;
        var list = new List<(string, int[])>
        {
            (VisualConv1, [v.Width, 3, v.Patch, v.Patch]),
            (VisualClassEmbedding, [v.Width]),
            (VisualPositionalEmbedding, [visualPositionRows ?? v.Tokens, v.Width]),
            (VisualLnPreWeight, [v.Width]),
            (VisualLnPreBias, [v.Width]),
        };
        for (var l = 0; l < v.Layers; l++) AddBlock(list, VisualBlock(l), v.Width, v.MlpWidth);
        list.Add((VisualLnPostWeight, [v.Width]));
        list.Add((VisualLnPostBias, [v.Width]));
        list.Add((VisualProj, [v.Width, c.EmbedDim]));
        list.Add((TokenEmbedding, [t.VocabSize, t.Width]));
        list.Add((PositionalEmbedding, [t.ContextLength, t.Width]));
        for (var l = 0; l < t.Layers; l++) AddBlock(list, TextBlock(l), t.Width, t.MlpWidth);
        list.Add((LnFinalWeight, [t.Width]));
        list.Add((LnFinalBias, [t.Width]));
        list.Add((TextProjection, [t.Width, c.EmbedDim]));
        return list;
    }

    private static void AddBlock(List<(string, int[])> list, string prefix, int width, int mlp)
    {
        list.Add((prefix + Block.Ln1Weight, [width]));
        list.Add((prefix + Block.Ln1Bias, [width]));
        list.Add((prefix + Block.InProjWeight, [3 * width, width]));
        list.Add((prefix + Block.InProjBias, [3 * width]));
        list.Add((prefix + Block.OutProjWeight, [width, width]));
        list.Add((prefix + Block.OutProjBias, [width]));
        list.Add((prefix + Block.Ln2Weight, [width]));
        list.Add((prefix + Block.Ln2Bias, [width]));
        list.Add((prefix + Block.FcWeight, [mlp, width]));
        list.Add((prefix + Block.FcBias, [mlp]));
        list.Add((prefix + Block.ProjWeight, [width, mlp]));
        list.Add((prefix + Block.ProjBias, [width]));
    }
}
