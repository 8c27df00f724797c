namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// Sizes of the Bayes-PFL head (spec 1, 5, 7, 12.1). Defaults are the released checkpoints' (ViT-L/14-336 at
/// 518 px); tests shrink the vision side (width, grid) while keeping the 768-d head.
/// </summary>
public sealed record HeadConfig
{
    /// <summary>Joint embedding width: text width, flow dimension, RCA width.</summary>
    public int Embed { get; init; } = 768;

    /// <summary>MLP3 hidden width (vision_width / 2 in the reference).</summary>
    public int Hidden { get; init; } = 512;

    /// <summary>Width of the tapped vision features F_l.</summary>
    public int VisionWidth { get; init; } = 1024;

    /// <summary>Number of tapped layers (6, 12, 18, 24).</summary>
    public int Taps { get; init; } = 4;

    /// <summary>Planar-flow steps K.</summary>
    public int Steps { get; init; } = 10;

    /// <summary>Prompt-bank entries B.</summary>
    public int Bank { get; init; } = 3;

    /// <summary>Learnable tokens per half of a prompt (context, state).</summary>
    public int Tokens { get; init; } = 5;

    /// <summary>Width of the Fuse attention-pooling hidden layer.</summary>
    public int FuseHidden { get; init; } = 512;

    /// <summary>RCA heads (head dim = Embed / RcaHeads); the scale is Embed^-0.5 regardless (spec 14.17).</summary>
    public int RcaHeads { get; init; } = 4;

    /// <summary>Stage 2 (released checkpoints): the image branch adds Fuse and applies image_mapping.</summary>
    public bool Stage2 { get; init; } = true;

    public static HeadConfig Default { get; } = new();
}
