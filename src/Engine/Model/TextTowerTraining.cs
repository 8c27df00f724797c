using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model;

/// <summary>
/// The frozen text tower for training (spec §4.4, §9.4): the spliced forward of <see cref="TextTower"/> over n
/// prompts that each have their own "X name" ids, keeping the activations, and the gradient of the features with
/// respect to the spliced prompt vectors only (no CLIP weight gradients). Backward chain:
/// text_projection → ln_final on the EOT rows → scatter into the [n,T,C] residual gradient → blocks in reverse →
/// the embedding's spliced rows.
/// </summary>
public sealed class TextTowerTraining : IDisposable
{
    private const string Op = "TextTowerTraining";

    private readonly IBackend backend;
    private readonly TextWeights w;
    private readonly TextTower tower;
    private readonly ResidualBlocksTape tape;
    private readonly Tensor zeroRow, dGamma, dBeta;
    private TextTower.Pass? pass;
    private Gradients? grads;
    private TextTower.PromptRows? rows;
    private int injectLength;

    public TextTowerTraining(IBackend backend, ClipWeights weights)
    {
        // The backward ops are fp32 only, and gradients through bf16-rounded weights would not be the model's.
        if (weights.GemmType != DType.F32)
            throw new ArgumentException($"{Op}: the CLIP weights were loaded with {weights.GemmType} GEMM weights; training runs fp32 only (load them with the default precision)", nameof(weights));
        this.backend = backend;
        w = weights.Text;
        var cfg = weights.Config.Text;
        tower = new TextTower(backend, weights);
        tape = new ResidualBlocksTape(backend, tower.Blocks, cfg.Layers);
        zeroRow = backend.Allocate(new Shape(1, cfg.Width), "text_train.zero_row");
        backend.Zero(zeroRow);
        dGamma = backend.Allocate(new Shape(cfg.Width), "text_train.d_ln_final_weight_discarded");
        dBeta = backend.Allocate(new Shape(cfg.Width), "text_train.d_ln_final_bias_discarded");
    }

    /// <summary>
    /// n prompts; prompt i is the tokenised "X name" ids[i·ContextLength .. +ContextLength] (SOS at 0, "X" at 1) with
    /// inject[i] (J rows) spliced in place of position 1 exactly as <see cref="TextTower.EncodeSpliced"/> does; its EOT
    /// row is argmax(ids row) + J − 1. Runs the first max(EOT)+1 positions only (the causal mask makes that exact).
    /// Saves what <see cref="Backward"/> needs. Returns features [n,E] (caller disposes).
    /// </summary>
    public Tensor Forward(ReadOnlySpan<int> ids, Tensor inject)
    {
        Check.Rank(Op, inject, 3);
        var n = inject.Shape[0];
        Check.That(ids.Length == n * tower.Config.ContextLength, Op,
            $"got {ids.Length} ids for {inject.Name} {inject.Shape}, expected one prompt of {tower.Config.ContextLength} per injected block");
        var r = tower.Splice(Op, ids, inject);
        FreePass();
        pass = new TextTower.Pass(backend, n, r.Tokens, tower.Config.Width);
        grads = new Gradients(backend, n, r.Tokens, tower.Config.Width);
        rows = r;
        injectLength = inject.Shape[1];
        return tower.Run(pass, r, inject, tape);
    }

    /// <summary>dinject [n,J,C] OVERWRITTEN from dfeatures [n,E], using the activations saved by the last Forward.</summary>
    public void Backward(Tensor dinject, Tensor dfeatures)
    {
        Check.That(pass is not null && grads is not null && rows is not null, Op + ".Backward", "no Forward has run");
        int n = rows!.Eots.Length, t = rows.Tokens, c = tower.Config.Width;
        Check.Shape(Op + ".Backward", dfeatures, n, w.ProjT.Shape[0]);
        Check.Shape(Op + ".Backward", dinject, n, injectLength, c);
        var g = grads!;
        backend.LinearBackwardInput(g.DLn, dfeatures, w.ProjT);
        backend.Zero(dGamma);
        backend.Zero(dBeta);
        backend.LayerNormBackward(g.DEot, dGamma, dBeta, g.DLn, pass!.EotX.Reshape(n, c), pass.Mean, pass.Rstd, w.LnFinalWeight);

        // Scatter: the EOT row of prompt i takes spliced row 0 of a one-row "inject" holding its gradient; every
        // other position reads the zero table row.
        var scatter = new float[n * t];
        for (var i = 0; i < n; i++) scatter[i * t + rows.Eots[i]] = -1;
        backend.Upload(g.ScatterIds, scatter);
        backend.Embedding(g.DX, g.ScatterIds, zeroRow, null, g.DEot.Reshape(n, 1, c));
        tape.Backward(g.DX, w.Blocks);
        backend.EmbeddingBackward(dinject, g.DX, pass.Ids);
    }

    /// <summary>Bytes of saved activations + workspace of the last Forward (for the training memory plan).</summary>
    public long SavedBytes => tape.Bytes + (pass?.Bytes ?? 0) + (grads?.Bytes ?? 0) + zeroRow.Bytes + dGamma.Bytes + dBeta.Bytes;

    private void FreePass()
    {
        pass?.Dispose();
        grads?.Dispose();
        pass = null;
        grads = null;
        rows = null;
    }

    public void Dispose()
    {
        FreePass();
        tape.Dispose();
        tower.Dispose();
        zeroRow.Dispose();
        dGamma.Dispose();
        dBeta.Dispose();
    }

    /// <summary>The backward buffers of one Forward's shape.</summary>
    private sealed class Gradients : IDisposable
    {
        public Gradients(IBackend backend, int n, int t, int c)
        {
            DLn = backend.Allocate(new Shape(n, c), "text_train.d_ln_final");
            DEot = backend.Allocate(new Shape(n, c), "text_train.d_eot_x");
            ScatterIds = backend.Allocate(new Shape(n, t), "text_train.eot_scatter_ids");
            DX = backend.Allocate(new Shape(n, t, c), "text_train.d_x");
        }

        public Tensor DLn { get; }
        public Tensor DEot { get; }
        public Tensor ScatterIds { get; }
        public Tensor DX { get; }

        public long Bytes => DLn.Bytes + DEot.Bytes + ScatterIds.Bytes + DX.Bytes;

        public void Dispose()
        {
            DLn.Dispose();
            DEot.Dispose();
            ScatterIds.Dispose();
            DX.Dispose();
        }
    }
}
