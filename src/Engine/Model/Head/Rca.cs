using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// What one RCA layer keeps for its backward, for Bt images of M texts and P patches: the key and text norms
/// [Bt·P], [Bt·M], the attention output [Bt,M,C] and its log-sum-exp [Bt,H,M].
/// </summary>
public sealed record RcaSaved(Tensor KeyNorm, Tensor Attended, Tensor Lse, Tensor TextNorm) : IDisposable
{
    public static RcaSaved Allocate(IBackend be, HeadConfig c, int batch, int patches, int texts, string prefix) => new(
        be.Allocate(new Shape(batch * patches), $"{prefix}.key_norm"),
        be.Allocate(new Shape(batch, texts, c.Embed), $"{prefix}.attended"),
        be.Allocate(new Shape(batch, c.RcaHeads, texts), $"{prefix}.lse"),
        be.Allocate(new Shape(batch * texts), $"{prefix}.text_norm"));

    public long Bytes => KeyNorm.Bytes + Attended.Bytes + Lse.Bytes + TextNorm.Bytes;

    public void Dispose()
    {
        foreach (var t in new[] { KeyNorm, Attended, Lse, TextNorm }) t.Dispose();
    }
}

/// <summary>
/// Residual cross-modal attention (spec 7.2): one query projection shared by all layers, one bias-free key
/// projection P_j per tapped layer; keys = values = K; no output projection; scale Embed^-0.5 although the
/// heads are Embed/RcaHeads wide (spec 14.17); the residual adds the ORIGINAL text embedding T.
/// </summary>
public sealed class Rca(IBackend backend, HeadWeights weights)
{
    private readonly Tensor wq = weights["RCA.q_proj_pre.weight"], bq = weights["RCA.q_proj_pre.bias"];

    /// <summary>The attention scale Embed^-0.5 (spec 14.17).</summary>
    public static float Scale(HeadConfig c) => 1f / MathF.Sqrt(c.Embed);

    /// <summary>Q [M,C] = T Wqᵀ + bq; the same for every layer, so computed once per image.</summary>
    public void Query(Tensor q, Tensor text) => backend.Linear(q, text, wq, bq);

    /// <summary>Layer j for one image: K [P,C] = rownorm(F P_jᵀ); T' [M,C] = rownorm(MHA(Q, K, K) + T).</summary>
    public void Layer(int j, Tensor tPrime, Tensor keys, Tensor tap, Tensor q, Tensor text)
    {
        using var saved = RcaSaved.Allocate(backend, weights.Config, 1, tap.Shape[0], text.Shape[0], $"RCA.{j}");
        Layer(j, tPrime, keys, saved, tap, q, text);
    }

    /// <summary>
    /// Layer j batched over Bt images (Bt from <paramref name="saved"/>): tap [Bt·P,Cv] → keys [Bt·P,C]; q, text,
    /// tPrime [Bt·M,C], image b's rows contiguous. Each image's texts attend to that image's keys only.
    /// </summary>
    public void Layer(int j, Tensor tPrime, Tensor keys, RcaSaved saved, Tensor tap, Tensor q, Tensor text)
    {
        var c = weights.Config;
        int bt = saved.Attended.Shape[0], m = saved.Attended.Shape[1], p = keys.Shape[0] / bt;
        Check.That(keys.Shape[0] == bt * p && text.Shape[0] == bt * m, "Rca.Layer",
            $"{keys.Name}{keys.Shape} and {text.Name}{text.Shape} do not split into {bt} images of {m} texts ({saved.Attended.Name})");
        backend.Linear(keys, tap, weights[$"RCA.linear_proj.{j}.weight"], null);
        backend.L2Normalize(keys, saved.KeyNorm, keys);
        var k3 = keys.Reshape(bt, p, c.Embed);
        backend.Attention(saved.Attended, saved.Lse, q.Reshape(bt, m, c.Embed), k3, k3, c.RcaHeads, causal: false, scale: Scale(c));
        backend.Add(tPrime, saved.Attended.Reshape(bt * m, c.Embed), text);
        backend.L2Normalize(tPrime, saved.TextNorm, tPrime);
    }
}
