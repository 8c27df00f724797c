using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model.Head;

/// <summary>Per-layer RCA outputs and the maps: T'_j [2M,C], K_j [P,C], logits [L,2M,g,g] (unscaled K·T'ᵀ), map [S,S].</summary>
public sealed record PixelOutputs(Tensor[] TPrime, Tensor[] Keys, Tensor Logits, Tensor Map) : IDisposable
{
    public static PixelOutputs Allocate(IBackend be, HeadConfig c, int texts, int grid, int side) => new(
        [.. Enumerable.Range(0, c.Taps).Select(j => be.Allocate(new Shape(texts, c.Embed), $"rca.{j}.text"))],
        [.. Enumerable.Range(0, c.Taps).Select(j => be.Allocate(new Shape(grid * grid, c.Embed), $"rca.{j}.keys"))],
        be.Allocate(new Shape(c.Taps, texts, grid, grid), "pixel.logits"),
        be.Allocate(new Shape(side, side), "pixel.map"));

    public void Dispose()
    {
        foreach (var t in TPrime.Concat(Keys).Append(Logits).Append(Map)) t.Dispose();
    }
}

/// <summary>
/// Pixel-level branch (spec 7.2, 7.3): RCA per tapped layer, S_j = K_j·T'_jᵀ stored transposed as [2M, P]
/// = [2M, g, g] (row-major patch grid), then the fused map with scale exp(tau_pix).
/// </summary>
public sealed class PixelBranch(IBackend backend, HeadWeights weights)
{
    private readonly Rca rca = new(backend, weights);

    /// <summary>taps F_j [P,Cv] (P = g²), text [2M,C] (normalised CLIP text outputs) → o.</summary>
    public void Forward(PixelOutputs o, IReadOnlyList<Tensor> taps, Tensor text)
    {
        int m2 = text.Shape[0], p = taps[0].Shape[0], c = weights.Config.Embed;
        var grid = o.Logits.Shape[2];
        Check.That(grid * grid == p && o.Logits.Shape[3] == grid, "PixelBranch",
            $"{taps[0].Name} has {p} patches but {o.Logits.Name} is {o.Logits.Shape}; expected a square grid of side sqrt(P)");
        using var q = backend.Allocate(new Shape(m2, c), "RCA.q");
        rca.Query(q, text);
        for (var j = 0; j < taps.Count; j++)
        {
            rca.Layer(j, o.TPrime[j], o.Keys[j], taps[j], q, text);
            // Row m of S_jᵀ is T'_j[m]·K_jᵀ: a Linear with the keys as the weight.
            var s = o.Logits.View((long)j * m2 * p, new Shape(m2, p), $"pixel.logits[{j}]");
            backend.Linear(s, o.TPrime[j], o.Keys[j], null);
        }
        backend.SimilarityMap(o.Map, o.Logits, MathF.Exp(weights.TauPixel));
    }
}
