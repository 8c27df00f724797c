using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

/// <summary>
/// Residual cross-modal attention (spec 7.2): one query projection shared by all layers, one bias-free key
/// projection P_j per tapped layer; keys = values = K; no output projection; scale Embed^-0.5 although the
/// heads are Embed/RcaHeads wide (spec 14.17); the residual adds the ORIGINAL text embedding T.
/// </summary>
public sealed class Rca(IBackend backend, HeadWeights weights)
{
    private readonly Tensor wq = weights["RCA.q_proj_pre.weight"], bq = weights["RCA.q_proj_pre.bias"];

    /// <summary>Q [M,C] = T Wqᵀ + bq; the same for every layer, so computed once per image.</summary>
    public void Query(Tensor q, Tensor text) => backend.Linear(q, text, wq, bq);

    /// <summary>Layer j: K [P,C] = rownorm(F P_jᵀ); T' [M,C] = rownorm(MHA(Q, K, K) + T).</summary>
    public void Layer(int j, Tensor tPrime, Tensor keys, Tensor tap, Tensor q, Tensor text)
    {
        int p = tap.Shape[0], m = text.Shape[0], c = weights.Config.Embed, heads = weights.Config.RcaHeads;
        using var projected = backend.Allocate(new Shape(p, c), $"RCA.{j}.projected");
        using var keyNorm = backend.Allocate(new Shape(p), $"RCA.{j}.key_norm");
        using var attended = backend.Allocate(new Shape(1, m, c), $"RCA.{j}.attended");
        using var lse = backend.Allocate(new Shape(1, heads, m), $"RCA.{j}.lse");
        using var textNorm = backend.Allocate(new Shape(m), $"RCA.{j}.text_norm");
        backend.Linear(projected, tap, weights[$"RCA.linear_proj.{j}.weight"], null);
        backend.L2Normalize(keys, keyNorm, projected);
        var k3 = keys.Reshape(1, p, c);
        backend.Attention(attended, lse, q.Reshape(1, m, c), k3, k3, heads, causal: false, scale: 1f / MathF.Sqrt(c));
        var sum = attended.Reshape(m, c);
        backend.Add(sum, sum, text);
        backend.L2Normalize(tPrime, textNorm, sum);
    }
}
