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
        blocks = new ResidualBlocks(backend, cfg.Width, cfg.MlpWidth, cfg.Heads, weights.Gelu, "text", weights.GemmType);
    }

    public TextConfig Config => cfg;

    /// <summary>The block stack's workspace (a training tape runs the same blocks on it).</summary>
    internal ResidualBlocks Blocks => blocks;

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
        using var pass = new Pass(backend, n, t, cfg.Width);
        return Run(pass, new PromptRows(seq, eots, t), inject: null, tape: null);
    }

    /// <summary>
    /// Features [n,E] of n Bayes-PFL prompts that share one tokenised "X name" prompt ids[ContextLength]:
    /// prompt i is [SOS][inject[i] (J rows)][ids 2..][EOT]..., cut at the context length, EOT moved right by J−1.
    /// </summary>
    public Tensor EncodeSpliced(ReadOnlySpan<int> ids, Tensor inject, int eot = -1)
    {
        const string op = "TextTower.EncodeSpliced";
        Check.That(ids.Length == cfg.ContextLength, op, $"got {ids.Length} ids, expected one prompt of {cfg.ContextLength}");
        var splice = Splice(op, ids, inject, eot);
        using var pass = new Pass(backend, splice.Eots.Length, splice.Tokens, cfg.Width);
        return Run(pass, splice, inject, tape: null);
    }

    /// <summary>Embedding ids [n·T] (negative: spliced rows, see <see cref="IBackend.Embedding"/>), EOT rows [n], T.</summary>
    internal sealed record PromptRows(float[] Seq, int[] Eots, int Tokens);

    /// <summary>
    /// The rows of n = inject.Shape[0] spliced prompts:
    /// prompt i takes ids row i, or the only row when ids holds one; EOT from the argmax unless
    /// <paramref name="eot"/> gives it. Runs to max(EOT)+1 positions when <see cref="Truncate"/> is on.
    /// </summary>
    internal PromptRows Splice(string op, ReadOnlySpan<int> ids, Tensor inject, int eot = -1)
    {
        var ctx = cfg.ContextLength;
        Check.Rank(op, inject, 3);
        Check.Shape(op, inject, -1, -1, cfg.Width);
        int n = inject.Shape[0], j = inject.Shape[1];
        Check.That(n > 0 && j > 0, op, $"{inject.Name} {inject.Shape} holds no prompt vectors");
        var rows = ids.Length / ctx;
        Check.That(ids.Length % ctx == 0 && (rows == 1 || rows == n), op, $"got {ids.Length} ids, expected 1 or {n} prompts of {ctx}");
        var eots = new int[n];
        for (var i = 0; i < n; i++)
        {
            var row = ids.Slice(rows == 1 ? 0 : i * ctx, ctx);
            if (i < rows) CheckIds(row, i);
            var e = eot < 0 ? ArgMax(row) : eot;
            eots[i] = e + j - 1;
            Check.That(e > SplicePosition && eots[i] < ctx, op,
                $"prompt {i}: EOT at {e} becomes {eots[i]} after splicing {j} vectors; it must lie in {SplicePosition + 1}..{ctx - 1}");
        }
        var t = Truncate ? eots.Max() + 1 : ctx;
        // Spliced prompt position s takes: s = 0 → ids[0]; 1 ≤ s ≤ J → inject row s−1 (id −s); s > J → ids[s−J+1].
        var seq = new float[n * t];
        for (var i = 0; i < n; i++)
        {
            var row = ids.Slice(rows == 1 ? 0 : i * ctx, ctx);
            for (var s = 0; s < t; s++)
                seq[i * t + s] = s < SplicePosition ? row[s] : s < SplicePosition + j ? -(s - SplicePosition + 1) : row[s - j + 1];
        }
        return new PromptRows(seq, eots, t);
    }

    /// <summary>
    /// The forward pass over n prompts of T positions into <paramref name="pass"/>'s buffers; with a tape the blocks
    /// keep their activations there (the pass's buffers stay valid until it is disposed).
    /// </summary>
    internal Tensor Run(Pass pass, PromptRows rows, Tensor? inject, ResidualBlocksTape? tape)
    {
        int n = rows.Eots.Length, t = rows.Tokens, c = cfg.Width;
        backend.Upload(pass.Ids, rows.Seq);
        backend.Embedding(pass.X, pass.Ids, w.TokenEmbedding, w.PositionalEmbedding, inject);
        var top = pass.X;
        if (tape is null)
        {
            var frame = blocks.Prepare(n, t);
            foreach (var block in w.Blocks) blocks.Run(frame, pass.X, block, causal: true);
        }
        else
        {
            top = tape.Forward(pass.X, w.Blocks, causal: true);
        }

        // ln_final is row-wise, so gathering the EOT rows first and normalising only those is exact.
        var eotRows = new float[n];
        for (var i = 0; i < n; i++) eotRows[i] = i * t + rows.Eots[i];
        backend.Upload(pass.EotRows, eotRows);
        backend.Embedding(pass.EotX, pass.EotRows, top.Reshape(n * t, c), null, null);
        backend.LayerNorm(pass.Ln, pass.Mean, pass.Rstd, pass.EotX.Reshape(n, c), w.LnFinalWeight, w.LnFinalBias, ResidualBlocks.LayerNormEps);
        var features = backend.Allocate(new Shape(n, embedDim), "text.features");
        try
        {
            backend.Linear(features, pass.Ln, w.ProjT, null);
        }
        catch
        {
            features.Dispose();
            throw;
        }
        return features;
    }

    /// <summary>The buffers of one forward pass over n prompts of T positions.</summary>
    internal sealed class Pass : IDisposable
    {
        public Pass(IBackend backend, int n, int t, int c)
        {
            Ids = backend.Allocate(new Shape(n, t), "text.ids");
            X = backend.Allocate(new Shape(n, t, c), "text.x");
            EotRows = backend.Allocate(new Shape(1, n), "text.eot_rows");
            EotX = backend.Allocate(new Shape(1, n, c), "text.eot_x");
            Ln = backend.Allocate(new Shape(n, c), "text.ln_final");
            Mean = backend.Allocate(new Shape(n), "text.ln_final_mean");
            Rstd = backend.Allocate(new Shape(n), "text.ln_final_rstd");
        }

        /// <summary>Embedding ids [n,T] (negative: spliced rows).</summary>
        public Tensor Ids { get; }

        /// <summary>Embedding output [n,T,C]; without a tape also the residual stream, updated in place.</summary>
        public Tensor X { get; }

        public Tensor EotRows { get; }
        public Tensor EotX { get; }
        public Tensor Ln { get; }
        public Tensor Mean { get; }
        public Tensor Rstd { get; }

        public long Bytes => All.Sum(t => t.Bytes);

        private Tensor[] All => [Ids, X, EotRows, EotX, Ln, Mean, Rstd];

        public void Dispose()
        {
            foreach (var t in All) t.Dispose();
        }
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
