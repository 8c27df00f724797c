namespace BayesPfl.Engine.Validation;

/// <summary>What a compared tensor is; each kind has its own <see cref="Tolerance"/>.</summary>
public enum TensorKind
{
    /// <summary>Residual stream after an image block (out.tap.{l}, {i}.taps).</summary>
    Tap,

    /// <summary>Tower outputs before any normalisation: out.global, out.text, out.text_spliced, {i}.g.</summary>
    Features,

    /// <summary>Prompt vectors out of the flows ({i}.prompt_blocks).</summary>
    PromptBlocks,

    /// <summary>L2-normalised text embeddings ({i}.text).</summary>
    UnitVectors,

    /// <summary>Probabilities and maps in [0,1]: {i}.p_img, {i}.map, {i}.s_map.</summary>
    Score,
}

/// <summary>
/// Element i passes when |engine_i − ref_i| ≤ Abs + OfRms·rms(ref) + Rel·|ref_i|, and the whole tensor passes when every
/// element does, none is NaN or infinite, and NMSE = Σ(engine−ref)² / Σref² ≤ MaxNmse. The rms term makes one rule
/// fit the tiny test models and ViT-L/14 with real weights alike (real CLIP's residual stream reaches |x| in the
/// hundreds in a few channels, random weights stay near 1).
/// </summary>
public sealed record Tolerance(double Abs, double OfRms, double Rel, double MaxNmse)
{
    /// <summary>
    /// The engine runs fp32 like the reference (spec 3), so two correct implementations differ only in summation
    /// order: measured ≤ 5e-6 of rms on the tiny oracles and 3.4e-5 absolute at |ref| ≤ 22 (NMSE ≤ 2e-12) for the
    /// 24-block ViT-L/14 at 518 px. These bounds leave 10-100x for deeper, real-weight runs and other BLAS
    /// libraries, while a wrong op (a missing LayerNorm, QuickGELU for erf GELU, a transposed weight, a wrong tap
    /// layer, an off-by-one EOT) moves values by 1e-2..1e0 of their rms: NMSE 1e-4 or more, far above 1e-8.
    /// The reference must run fp32 without TF32 (docs/reference-dumps.md says how).
    /// </summary>
    public static Tolerance For(TensorKind kind) => kind switch
    {
        TensorKind.Tap or TensorKind.Features => new(0, 2e-4, 1e-4, 1e-8),
        // Ten planar-flow steps, fp32 against the oracle's float64 (measured ≤ 3e-6 on O(1) values).
        TensorKind.PromptBlocks => new(0, 1e-4, 1e-4, 1e-8),
        // Unit vectors: rms is 1/sqrt(E), so 2e-4 of it is ~7e-6 at E = 768 (measured ≤ 3e-7).
        TensorKind.UnitVectors => new(0, 2e-4, 1e-4, 1e-8),
        // Probabilities: an absolute bound; 1e-4 is ~100x the fp32 pipeline's measured error (≤ 1e-6) and far below
        // any difference that changes a decision or a metric. Maps are sigmoid sums of the same values.
        TensorKind.Score => new(1e-4, 0, 0, 1e-8),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public override string ToString()
    {
        var parts = new List<string>();
        if (Abs > 0) parts.Add($"{Abs:G2}");
        if (OfRms > 0) parts.Add($"{OfRms:G2}·rms");
        if (Rel > 0) parts.Add($"{Rel:G2}·|ref|");
        return $"{string.Join(" + ", parts)}, nmse {MaxNmse:G2}";
    }
}
