namespace BayesPfl.Engine.Validation;

/// <summary>
/// The tensor and metadata names of reference dumps (docs/reference-dumps.md documents them for users; the oracles
/// tests/reference/clip_towers.py and pipeline_oracle.py write them). "in.*" are inputs the engine is run on,
/// everything else is a reference output it is compared with.
/// </summary>
public static class ReferenceNames
{
    // CLIP towers dump (clip_towers.py); metadata "weights" names the CLIP engine file.
    public const string Images = "in.images";
    public const string TapPrefix = "out.tap.";
    public const string Global = "out.global";
    public const string Ids = "in.ids";
    public const string Text = "out.text";
    public const string SpliceIds = "in.splice_ids";
    public const string Inject = "in.inject";
    public const string TextSpliced = "out.text_spliced";
    public const string WeightsKey = "weights";

    // Pipeline dump (pipeline_oracle.py): in.images, in.splice_ids, the noise and per-image "{i}.{stage}" outputs;
    // metadata "clip" and "head" name the engine files, "topk" the k of s_map.
    public const string Eps = "eps";
    public const string ClipKey = "clip";
    public const string HeadKey = "head";
    public const string TopKKey = "topk";

    /// <summary>k of s_map when a pipeline dump does not say (the oracle's default and the spec's for most categories).</summary>
    public const int DefaultTopK = 20;

    /// <summary>Per-image stages of a pipeline dump and their kinds, in pipeline order.</summary>
    public static readonly IReadOnlyList<(string Stage, TensorKind Kind)> PipelineStages =
    [
        ("g", TensorKind.Features),
        ("taps", TensorKind.Tap),
        ("prompt_blocks", TensorKind.PromptBlocks),
        ("text", TensorKind.UnitVectors),
        ("p_img", TensorKind.Score),
        ("map", TensorKind.Score),
        ("s_map", TensorKind.Score),
    ];

    public static string Tap(int layer) => TapPrefix + layer;

    public static string Stage(int image, string stage) => $"{image}.{stage}";
}
