using BayesPfl.Engine.Model.Head;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Training.Heads;

/// <summary>
/// L_cls of spec 9.2/9.3 with its backward, batched over N images: logit[i,c] = exp(tau_img)·⟨Tc[i,c], v[i]⟩
/// with Tc = rownorm(class_mapping(T_sel)) for the two selected texts of image i (c = 0 normal, 1 abnormal),
/// v = rownorm(g) (stage 1) or rownorm(image_mapping(g + Fuse(taps))) (stage 2). The forward is the inference
/// <see cref="ImageBranch"/>'s; the CE runs on the host (2N values).
/// </summary>
internal sealed class ClassificationTraining(Workspace ws, HeadParameters p, ImageBranch branch)
{
    private readonly Backends.IBackend be = ws.Backend;
    private readonly int c = p.Config.Embed;

    /// <summary>
    /// Returns L_cls; accumulates the class_mapping gradients, and in stage 1 temperature_image's and writes
    /// dtsel [2N,C] (overwritten), in stage 2 image_mapping's and fuse's (dtsel untouched, may be null).
    /// taps [N·P,Cv] each.
    /// </summary>
    public double Run(Tensor? dtsel, Tensor tsel, Tensor g, IReadOnlyList<Tensor> taps, ReadOnlySpan<int> labels, float tauImage, bool stage2)
    {
        var n = g.Shape[0];
        var mapped = ws.Get("cls.mapped", 2 * n, c);
        var mappedNorm = ws.Get("cls.mapped_norm", 2 * n);
        var image = ws.Get("cls.v", n, c);
        var imageNorm = ws.Get("cls.v_norm", n);
        branch.MapText(mapped, mappedNorm, tsel);
        FuseSaved? fs = null;
        Tensor? sum = null;
        if (stage2)
        {
            var patches = taps[0].Shape[0] / n;
            var allocated = FuseSaved.Allocate(be, p.Config, n, patches);
            fs = ws.Keep(allocated, allocated.Bytes);
            var fuse = ws.Get("cls.fuse", n, c);
            sum = ws.Get("cls.g_plus_fuse", n, c);
            branch.Fuse(fuse, fs, taps);
            branch.EmbedImage(image, imageNorm, sum, g, fuse);
        }
        else
        {
            be.L2Normalize(image, imageNorm, g);
        }
        var cos = ws.Get("cls.cos", n, 2, 1);
        be.BatchedMatMul(cos, mapped.Reshape(n, 2, c), image.Reshape(n, 1, c), transposeB: true);

        var cosHost = ws.Download(cos);
        var scale = Math.Exp(tauImage);
        var logits = cosHost.Select(x => scale * x).ToArray();
        var dlogits = new double[logits.Length];
        var loss = SmallLosses.CrossEntropy<double>(dlogits, logits, labels, 1);
        // d logit / d tau = logit (the scale is exp(tau)); d logit / d cos = exp(tau).
        if (!stage2) ws.AddToScalar(p.Grad(HeadParameters.TauImageName), Enumerable.Range(0, logits.Length).Sum(i => dlogits[i] * logits[i]));
        var dcos = ws.Get("cls.dcos", n, 2, 1);
        be.Upload(dcos, dlogits.Select(d => (float)(d * scale)).ToArray());

        var dmapped = ws.Get("cls.dmapped", 2 * n, c);
        var dpre = ws.Get("cls.dmapped_pre", 2 * n, c);
        be.BatchedMatMul(dmapped.Reshape(n, 2, c), dcos, image.Reshape(n, 1, c), transposeB: false);
        be.L2NormalizeBackward(dpre, dmapped, mapped, mappedNorm);
        be.LinearBackwardWeight(p.Grad("class_mapping.weight"), p.Grad("class_mapping.bias"), dpre, tsel);
        if (!stage2)
        {
            if (dtsel is not null) be.LinearBackwardInput(dtsel, dpre, p["class_mapping.weight"]);
            return loss;
        }

        // Stage 2: dv[i] = dcos[i]ᵀ·Tc[i] ([1,2]·[2,C]); dcos [N,2,1] is the same memory as [N,1,2].
        var dimage = ws.Get("cls.dv", n, c);
        var dimagePre = ws.Get("cls.dv_pre", n, c);
        var dsum = ws.Get("cls.dsum", n, c);
        be.BatchedMatMul(dimage.Reshape(n, 1, c), dcos.Reshape(n, 1, 2), mapped.Reshape(n, 2, c), transposeB: false);
        be.L2NormalizeBackward(dimagePre, dimage, image, imageNorm);
        be.LinearBackwardWeight(p.Grad("image_mapping.weight"), p.Grad("image_mapping.bias"), dimagePre, sum!);
        be.LinearBackwardInput(dsum, dimagePre, p["image_mapping.weight"]);
        FuseBackward(dsum, fs!, taps);
        return loss;
    }

    /// <summary>Backward of <see cref="ImageBranch.Fuse(Tensor, FuseSaved, IReadOnlyList{Tensor})"/> from dfuse [N,C] into fuse.*.</summary>
    private void FuseBackward(Tensor dfuse, FuseSaved s, IReadOnlyList<Tensor> taps)
    {
        int n = s.Attn.Shape[0], patches = s.Attn.Shape[2], hf = p.Config.FuseHidden;
        var dpooled = ws.Get("fuse.dpooled", n, hf);
        var dattn = ws.Get("fuse.dattn", n, 1, patches);
        var dscores = ws.Get("fuse.dscores", n * patches, 1);
        var dhidden = ws.Get("fuse.dhidden", n * patches, hf);
        var dpart = ws.Get("fuse.dhidden_scores", n * patches, hf);
        be.LinearBackwardWeight(p.Grad("fuse.post_process.weight"), p.Grad("fuse.post_process.bias"), dfuse, s.Pooled.Reshape(n, hf));
        be.LinearBackwardInput(dpooled, dfuse, p["fuse.post_process.weight"]);
        // pooled[i] = a[i]·H[i]: da[i] = dpooled[i]·H[i]ᵀ, dH[i] = a[i]ᵀ·dpooled[i] (an outer product).
        be.BatchedMatMul(dattn, dpooled.Reshape(n, 1, hf), s.Hidden.Reshape(n, patches, hf), transposeB: true);
        be.BatchedMatMul(dhidden.Reshape(n, patches, hf), s.Attn.Reshape(n, patches, 1), dpooled.Reshape(n, 1, hf), transposeB: false);
        be.SoftmaxBackward(dscores.Reshape(n, patches), dattn.Reshape(n, patches), s.Attn.Reshape(n, patches));
        be.LinearBackwardWeight(p.Grad("fuse.compress.weight"), p.Grad("fuse.compress.bias"), dscores, s.Hidden);
        be.LinearBackwardInput(dpart, dscores, p["fuse.compress.weight"]);
        be.Add(dhidden, dhidden, dpart);
        var dw = p.Grad("fuse.fuse_modules.weight");
        for (var j = 0; j < taps.Count; j++)
            be.LinearBackwardWeight(ImageBranch.FuseBlock(dw, j), j == 0 ? p.Grad("fuse.fuse_modules.bias") : null, dhidden, taps[j]);
    }
}
