using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model;

/// <summary>
/// One pre-norm residual block. The packed in-projection stays one tensor as in the file; Q, K and V are
/// row views of it (rows 0..C-1, C..2C-1, 2C..3C-1), so three Linear calls produce the contiguous q, k, v
/// that Attention takes without a split op or a copy. The four matrices feed Linear only and take the loader's GEMM
/// type (BF16 views of a BF16 in_proj work the same way); LayerNorm parameters and biases stay F32.
/// </summary>
public sealed class BlockWeights
{
    internal BlockWeights(ClipWeights.Loader load, string prefix, int width)
    {
        Ln1Weight = load.Get(prefix + ClipTensorNames.Block.Ln1Weight);
        Ln1Bias = load.Get(prefix + ClipTensorNames.Block.Ln1Bias);
        InProjWeight = load.GetGemm(prefix + ClipTensorNames.Block.InProjWeight);
        InProjBias = load.Get(prefix + ClipTensorNames.Block.InProjBias);
        OutProjWeight = load.GetGemm(prefix + ClipTensorNames.Block.OutProjWeight);
        OutProjBias = load.Get(prefix + ClipTensorNames.Block.OutProjBias);
        Ln2Weight = load.Get(prefix + ClipTensorNames.Block.Ln2Weight);
        Ln2Bias = load.Get(prefix + ClipTensorNames.Block.Ln2Bias);
        FcWeight = load.GetGemm(prefix + ClipTensorNames.Block.FcWeight);
        FcBias = load.Get(prefix + ClipTensorNames.Block.FcBias);
        ProjWeight = load.GetGemm(prefix + ClipTensorNames.Block.ProjWeight);
        ProjBias = load.Get(prefix + ClipTensorNames.Block.ProjBias);
        var c = width;
        QWeight = InProjWeight.View(0, new Shape(c, c), prefix + "attn.q_weight");
        KWeight = InProjWeight.View((long)c * c, new Shape(c, c), prefix + "attn.k_weight");
        VWeight = InProjWeight.View(2L * c * c, new Shape(c, c), prefix + "attn.v_weight");
        QBias = InProjBias.View(0, new Shape(c), prefix + "attn.q_bias");
        KBias = InProjBias.View(c, new Shape(c), prefix + "attn.k_bias");
        VBias = InProjBias.View(2 * c, new Shape(c), prefix + "attn.v_bias");
    }

    public Tensor Ln1Weight { get; }
    public Tensor Ln1Bias { get; }
    public Tensor InProjWeight { get; }
    public Tensor InProjBias { get; }
    public Tensor OutProjWeight { get; }
    public Tensor OutProjBias { get; }
    public Tensor Ln2Weight { get; }
    public Tensor Ln2Bias { get; }
    public Tensor FcWeight { get; }
    public Tensor FcBias { get; }
    public Tensor ProjWeight { get; }
    public Tensor ProjBias { get; }
    public Tensor QWeight { get; }
    public Tensor KWeight { get; }
    public Tensor VWeight { get; }
    public Tensor QBias { get; }
    public Tensor KBias { get; }
    public Tensor VBias { get; }
}

/// <summary>The image tower's weights (positional embedding already at the run grid).</summary>
public sealed class VisionWeights
{
    internal VisionWeights(ClipWeights.Loader load, ClipConfig config)
    {
        Conv1 = load.Get(ClipTensorNames.VisualConv1);
        ClassEmbedding = load.Get(ClipTensorNames.VisualClassEmbedding);
        PositionalEmbedding = load.Get(ClipTensorNames.VisualPositionalEmbedding);
        LnPreWeight = load.Get(ClipTensorNames.VisualLnPreWeight);
        LnPreBias = load.Get(ClipTensorNames.VisualLnPreBias);
        Blocks = Enumerable.Range(0, config.Vision.Layers)
            .Select(l => new BlockWeights(load, ClipTensorNames.VisualBlock(l), config.Vision.Width)).ToArray();
        LnPostWeight = load.Get(ClipTensorNames.VisualLnPostWeight);
        LnPostBias = load.Get(ClipTensorNames.VisualLnPostBias);
        ProjT = load.GetTransposed(ClipTensorNames.VisualProj);
    }

    public Tensor Conv1 { get; }
    public Tensor ClassEmbedding { get; }
    public Tensor PositionalEmbedding { get; }
    public Tensor LnPreWeight { get; }
    public Tensor LnPreBias { get; }
    public IReadOnlyList<BlockWeights> Blocks { get; }
    public Tensor LnPostWeight { get; }
    public Tensor LnPostBias { get; }

    /// <summary>visual.proj transposed to [E,W] (Linear's weight layout), so g = Linear(ln_post(cls), ProjT).</summary>
    public Tensor ProjT { get; }
}

/// <summary>The text tower's weights.</summary>
public sealed class TextWeights
{
    internal TextWeights(ClipWeights.Loader load, ClipConfig config)
    {
        TokenEmbedding = load.Get(ClipTensorNames.TokenEmbedding);
        PositionalEmbedding = load.Get(ClipTensorNames.PositionalEmbedding);
        Blocks = Enumerable.Range(0, config.Text.Layers)
            .Select(l => new BlockWeights(load, ClipTensorNames.TextBlock(l), config.Text.Width)).ToArray();
        LnFinalWeight = load.Get(ClipTensorNames.LnFinalWeight);
        LnFinalBias = load.Get(ClipTensorNames.LnFinalBias);
        ProjT = load.GetTransposed(ClipTensorNames.TextProjection);
    }

    public Tensor TokenEmbedding { get; }
    public Tensor PositionalEmbedding { get; }
    public IReadOnlyList<BlockWeights> Blocks { get; }
    public Tensor LnFinalWeight { get; }
    public Tensor LnFinalBias { get; }

    /// <summary>text_projection transposed to [E,Wt].</summary>
    public Tensor ProjT { get; }
}
