using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

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
        var cfg = weights.Config;
        int p = taps[0].Shape[0], hf = cfg.FuseHidden;
        Check.That(taps.Count == cfg.Taps, "ImageBranch.Fuse", $"got {taps.Count} taps, expected {cfg.Taps}");
        var w = weights["fuse.fuse_modules.weight"];
        using var hidden = backend.Allocate(new Shape(p, hf), "fuse.hidden");
        using var part = backend.Allocate(new Shape(p, hf), "fuse.part");
        using var scores = backend.Allocate(new Shape(p, 1), "fuse.scores");
        using var attn = backend.Allocate(new Shape(1, 1, p), "fuse.attn");
        using var pooled = backend.Allocate(new Shape(1, 1, hf), "fuse.pooled");
        // Linear over the concat = Σ_j F_j W_jᵀ with W_j the j-th column block (re-laid out at load).
        for (var j = 0; j < taps.Count; j++)
        {
            var wj = w.View((long)j * hf * cfg.VisionWidth, new Shape(hf, cfg.VisionWidth), $"fuse.fuse_modules.weight[{j}]");
            backend.Linear(j == 0 ? hidden : part, taps[j], wj, j == 0 ? weights["fuse.fuse_modules.bias"] : null);
            if (j > 0) backend.Add(hidden, hidden, part);
        }
        backend.Linear(scores, hidden, weights["fuse.compress.weight"], weights["fuse.compress.bias"]);
        backend.Softmax(attn.Reshape(1, p), scores.Reshape(1, p));
        backend.BatchedMatMul(pooled, attn, hidden.Reshape(1, p, hf), transposeB: false);
        backend.Linear(fuse, pooled.Reshape(1, hf), weights["fuse.post_process.weight"], weights["fuse.post_process.bias"]);
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
        backend.Linear(mapped, text, weights["class_mapping.weight"], weights["class_mapping.bias"]);
        backend.L2Normalize(mapped, mappedNorm, mapped);
        if (weights.Config.Stage2)
        {
            using var sum = backend.Allocate(new Shape(1, c), "image.g_plus_fuse");
            backend.Add(sum, g, fuse);
            backend.Linear(image, sum, weights["image_mapping.weight"], weights["image_mapping.bias"]);
            backend.L2Normalize(image, imageNorm, image);
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
