using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model;

/// <summary>
/// CLIP's text tower (spec §4.1): token + positional embedding, causal pre-norm blocks, ln_final on the EOT
/// row, @ text_projection. Two inputs: plain token-id prompts, and Bayes-PFL's splice (spec §4.4) where the
/// token at position 1 ("X") is replaced by J caller-supplied vectors per prompt. Under the causal mask the
/// EOT row depends only on positions 0..EOT, so by default only those are run (identical output, ~6x less
/// work for short class names); <see cref="Truncate"/> = false runs the full context for checking that.
/// </summary>
public sealed class TextTower : IDisposable
{
    /// <summary>Where the splice goes: the "X" placeholder right after the start token.</summary>
    public const int SplicePosition = 1;

    private readonly IBackend backend;
    private readonly TextWeights w;
    private readonly TextConfig cfg;
    private readonly int embedDim;
    private readonly ResidualBlocks blocks;

    public TextTower(IBackend backend, ClipWeights weights)
    {
        this.backend = backend;
        w = weights.Text;
        cfg = weights.Config.Text;
        embedDim = weights.Config.EmbedDim;
        blocks = new ResidualBlocks(backend, cfg.Width, cfg.MlpWidth, cfg.Heads, weights.Gelu, "text");
    }

    public TextConfig Config => cfg;

    /// <summary>Run only the first EOT+1 positions (default), or the whole context.</summary>
    public bool Truncate { get; set; } = true;

    /// <summary>
    /// Features [n,E] of n token-id prompts, ids[n·ContextLength] row-major. The EOT row is the argmax of
    /// each prompt's ids (as CLIP does: EOT is the largest id the tokenizer emits) unless
    /// <paramref name="eot"/> gives it.
    /// </summary>
    public Tensor Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> eot = default)
    {
        var ctx = cfg.ContextLength;
        Check.That(ids.Length > 0 && ids.Length % ctx == 0, "TextTower.Encode", $"got {ids.Length} ids, expected n x {ctx}");
        var n = ids.Length / ctx;
        Check.That(eot.IsEmpty || eot.Length == n, "TextTower.Encode", $"got {eot.Length} EOT indices for {n} prompts");
        var eots = new int[n];
        for (var i = 0; i < n; i++)
        {
            var row = ids.Slice(i * ctx, ctx);
            CheckIds(row, i);
            eots[i] = eot.IsEmpty ? ArgMax(row) : eot[i];
            Check.That(eots[i] >= 0 && eots[i] < ctx, "TextTower.Encode", $"prompt {i}: EOT index {eots[i]} is outside 0..{ctx - 1}");
        }
        var t = Truncate ? eots.Max() + 1 : ctx;
        var seq = new float[n * t];
        for (var i = 0; i < n; i++)
            for (var s = 0; s < t; s++) seq[i * t + s] = ids[i * ctx + s];
        return Run(seq, n, t, eots, inject: null);
    }

    /// <summary>
    /// Features [n,E] of n Bayes-PFL prompts that share one tokenised "X name" prompt ids[ContextLength]:
    /// prompt i is [SOS][inject[i] (J rows)][ids 2..][EOT]..., cut at the context length, EOT moved right by J−1.
    /// </summary>
    public Tensor EncodeSpliced(ReadOnlySpan<int> ids, Tensor inject, int eot = -1)
    {
        var ctx = cfg.ContextLength;
        const string op = "TextTower.EncodeSpliced";
        Check.That(ids.Length == ctx, op, $"got {ids.Length} ids, expected one prompt of {ctx}");
        Check.Rank(op, inject, 3);
        Check.Shape(op, inject, -1, -1, cfg.Width);
        int n = inject.Shape[0], j = inject.Shape[1];
        Check.That(n > 0 && j > 0, op, $"{inject.Name} {inject.Shape} holds no prompt vectors");
        CheckIds(ids, 0);
        var e = eot < 0 ? ArgMax(ids) : eot;
        var shifted = e + j - 1;
        Check.That(e > SplicePosition && shifted < ctx, op,
            $"EOT at {e} becomes {shifted} after splicing {j} vectors; it must lie in {SplicePosition + 1}..{ctx - 1}");
        var t = Truncate ? shifted + 1 : ctx;
        // Spliced prompt position s takes: s = 0 → ids[0]; 1 ≤ s ≤ J → inject row s−1 (id −s); s > J → ids[s−J+1].
        var row = new float[t];
        for (var s = 0; s < t; s++)
            row[s] = s < SplicePosition ? ids[s] : s < SplicePosition + j ? -(s - SplicePosition + 1) : ids[s - j + 1];
        var seq = new float[n * t];
        for (var i = 0; i < n; i++) row.CopyTo(seq, i * t);
        return Run(seq, n, t, Enumerable.Repeat(shifted, n).ToArray(), inject);
    }

    private Tensor Run(float[] seq, int n, int t, int[] eots, Tensor? inject)
    {
        int c = cfg.Width;
        var frame = blocks.Prepare(n, t);
        using var ids = backend.Allocate(new Shape(n, t), "text.ids");
        using var x = backend.Allocate(new Shape(n, t, c), "text.x");
        using var rowIds = backend.Allocate(new Shape(1, n), "text.eot_rows");
        using var eotX = backend.Allocate(new Shape(1, n, c), "text.eot_x");
        using var ln = backend.Allocate(new Shape(n, c), "text.ln_final");
        using var mean = backend.Allocate(new Shape(n), "text.ln_final_mean");
        using var rstd = backend.Allocate(new Shape(n), "text.ln_final_rstd");
        backend.Upload(ids, seq);
        backend.Embedding(x, ids, w.TokenEmbedding, w.PositionalEmbedding, inject);
        foreach (var block in w.Blocks) blocks.Run(frame, x, block, causal: true);

        // ln_final is row-wise, so gathering the EOT rows first and normalising only those is exact.
        var rows = new float[n];
        for (var i = 0; i < n; i++) rows[i] = i * t + eots[i];
        backend.Upload(rowIds, rows);
        backend.Embedding(eotX, rowIds, x.Reshape(n * t, c), null, null);
        backend.LayerNorm(ln, mean, rstd, eotX.Reshape(n, c), w.LnFinalWeight, w.LnFinalBias, ResidualBlocks.LayerNormEps);
        var features = backend.Allocate(new Shape(n, embedDim), "text.features");
        try
        {
            backend.Linear(features, ln, w.ProjT, null);
        }
        catch
        {
            features.Dispose();
            throw;
        }
        return features;
    }

    private void CheckIds(ReadOnlySpan<int> row, int prompt)
    {
        for (var s = 0; s < row.Length; s++)
            Check.That(row[s] >= 0 && row[s] < cfg.VocabSize, "TextTower", $"prompt {prompt}: token id {row[s]} at position {s} is outside the vocabulary 0..{cfg.VocabSize - 1}");
    }

    /// <summary>First index of the largest id (torch.argmax's tie rule).</summary>
    private static int ArgMax(ReadOnlySpan<int> row)
    {
        var best = 0;
        for (var s = 1; s < row.Length; s++)
            if (row[s] > row[best]) best = s;
        return best;
    }

    public void Dispose() => blocks.Dispose();
}
