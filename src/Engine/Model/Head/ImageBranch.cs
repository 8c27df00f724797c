using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// What Fuse keeps for its backward, for Bt images of P patches: hidden H [Bt·P,Hf], the attention weights a
/// [Bt,1,P], the pooled h [Bt,1,Hf]; Part and Scores are workspace.
/// </summary>
public sealed record FuseSaved(Tensor Hidden, Tensor Part, Tensor Scores, Tensor Attn, Tensor Pooled) : IDisposable
{
    public static FuseSaved Allocate(IBackend be, HeadConfig c, int batch, int patches) => new(
        be.Allocate(new Shape(batch * patches, c.FuseHidden), "fuse.hidden"),
        be.Allocate(new Shape(batch * patches, c.FuseHidden), "fuse.part"),
        be.Allocate(new Shape(batch * patches, 1), "fuse.scores"),
        be.Allocate(new Shape(batch, 1, patches), "fuse.attn"),
        be.Allocate(new Shape(batch, 1, c.FuseHidden), "fuse.pooled"));

    public long Bytes => Hidden.Bytes + Part.Bytes + Scores.Bytes + Attn.Bytes + Pooled.Bytes;

    public void Dispose()
    {
        foreach (var t in new[] { Hidden, Part, Scores, Attn, Pooled }) t.Dispose();
    }
}

/// <summary>
/// Image-level branch (spec 7.1): Fuse = attention pooling over the channel concat of the taps, v =
/// rownorm(image_mapping(g + Fuse)) (stage 2) or rownorm(g) (stage 1), cos_m = ⟨rownorm(class_mapping(T_m)),
/// v⟩, logit = exp(tau_img)·cos, p_img = mean over the M matched pairs of sigmoid(logit[m+M] − logit[m]).
/// </summary>
public sealed class ImageBranch(IBackend backend, HeadWeights weights)
{
    /// <summary>fuse [1,C] from the taps F_j [P,Cv] (layer order 6, 12, 18, 24).</summary>
    public void Fuse(Tensor fuse, IReadOnlyList<Tensor> taps)
    {
        using var saved = FuseSaved.Allocate(backend, weights.Config, 1, taps[0].Shape[0]);
        Fuse(fuse, saved, taps);
    }

    /// <summary>fuse [Bt,C] from the taps F_j [Bt·P,Cv], batched over the Bt images of <paramref name="s"/>.</summary>
    public void Fuse(Tensor fuse, FuseSaved s, IReadOnlyList<Tensor> taps)
    {
        var cfg = weights.Config;
        int bt = s.Attn.Shape[0], p = s.Attn.Shape[2], hf = cfg.FuseHidden;
        Check.That(taps.Count == cfg.Taps, "ImageBranch.Fuse", $"got {taps.Count} taps, expected {cfg.Taps}");
        var w = weights["fuse.fuse_modules.weight"];
        // Linear over the concat = Σ_j F_j W_jᵀ with W_j the j-th column block (re-laid out at load).
        for (var j = 0; j < taps.Count; j++)
        {
            backend.Linear(j == 0 ? s.Hidden : s.Part, taps[j], FuseBlock(w, j), j == 0 ? weights["fuse.fuse_modules.bias"] : null);
            if (j > 0) backend.Add(s.Hidden, s.Hidden, s.Part);
        }
        backend.Linear(s.Scores, s.Hidden, weights["fuse.compress.weight"], weights["fuse.compress.bias"]);
        backend.Softmax(s.Attn.Reshape(bt, p), s.Scores.Reshape(bt, p));
        backend.BatchedMatMul(s.Pooled, s.Attn, s.Hidden.Reshape(bt, p, hf), transposeB: false);
        backend.Linear(fuse, s.Pooled.Reshape(bt, hf), weights["fuse.post_process.weight"], weights["fuse.post_process.bias"]);
    }

    /// <summary>Block j [Hf,Cv] of a fuse_modules weight (or its gradient) stored as [Taps,Hf,Cv].</summary>
    public static Tensor FuseBlock(Tensor w, int j) =>
        w.View((long)j * w.Shape[1] * w.Shape[2], new Shape(w.Shape[1], w.Shape[2]), $"{w.Name}[{j}]");

    /// <summary>Tc [M,C] = rownorm(class_mapping(T)) with its norms [M] (saved for backward).</summary>
    public void MapText(Tensor mapped, Tensor norm, Tensor text)
    {
        backend.Linear(mapped, text, weights["class_mapping.weight"], weights["class_mapping.bias"]);
        backend.L2Normalize(mapped, norm, mapped);
    }

    /// <summary>Stage 2's v [Bt,C] = rownorm(image_mapping(sum)) with sum = g + fuse [Bt,C] and the norms [Bt].</summary>
    public void EmbedImage(Tensor image, Tensor norm, Tensor sum, Tensor g, Tensor fuse)
    {
        backend.Add(sum, g, fuse);
        backend.Linear(image, sum, weights["image_mapping.weight"], weights["image_mapping.bias"]);
        backend.L2Normalize(image, norm, image);
    }

    /// <summary>
    /// cos [1,2M] and pImg [1,1] from text [2M,C] (normal half first), g [1,C] and fuse [1,C] (ignored in
    /// stage 1). The logits are exp(TauImage)·cos.
    /// </summary>
    public void Classify(Tensor cos, Tensor pImg, Tensor text, Tensor g, Tensor fuse)
    {
        int m2 = text.Shape[0], c = weights.Config.Embed;
        using var mapped = backend.Allocate(new Shape(m2, c), "class_mapping.out");
        using var mappedNorm = backend.Allocate(new Shape(m2), "class_mapping.norm");
        using var image = backend.Allocate(new Shape(1, c), "image.v");
        using var imageNorm = backend.Allocate(new Shape(1), "image.norm");
        MapText(mapped, mappedNorm, text);
        if (weights.Config.Stage2)
        {
            using var sum = backend.Allocate(new Shape(1, c), "image.g_plus_fuse");
            EmbedImage(image, imageNorm, sum, g, fuse);
        }
        else
        {
            backend.L2Normalize(image, imageNorm, g);
        }
        backend.Linear(cos, image, mapped, null);
        // The pair average is the similarity map of a 1x1 grid up-sampled to 1x1 (an identity resize).
        backend.SimilarityMap(pImg, cos.Reshape(1, m2, 1, 1), MathF.Exp(weights.TauImage));
    }
}
