using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model;

/// <summary>Where one block's forward writes q, k, v, o [rows·C], lse [rows·H] and the MLP pre-activation [rows·F].</summary>
internal sealed record BlockActivations(Tensor Q, Tensor K, Tensor V, Tensor O, Tensor Lse, Tensor Fc);

/// <summary>
/// Runs a stack of <see cref="ResidualBlocks"/> keeping what the backward pass needs, and back-propagates to the
/// stack's input only (spec §9.4: CLIP is frozen, so no weight gradients). Per layer it keeps the residual stream
/// after the attention half and after the block (the block's input is the previous layer's output, or the
/// caller's x0), q, k, v, o, lse and the MLP pre-activation. LayerNorm statistics are recomputed in the backward
/// pass (the same op on the same input gives the same bits, and it costs one row pass). Buffers grow to the
/// largest B·N seen and are reused; a Forward invalidates the previous one's activations.
/// </summary>
internal sealed class ResidualBlocksTape : IDisposable
{
    private readonly IBackend backend;
    private readonly ResidualBlocks blocks;
    private readonly int layers;
    private readonly GrowingBuffers pool;
    private Layer[] saved = [];
    private Tensor dFc = null!, dLn = null!, dO = null!, dQ = null!, dK = null!, dV = null!, dGamma = null!, dBeta = null!;
    private Tensor? x0;
    private bool causal;

    public ResidualBlocksTape(IBackend backend, ResidualBlocks blocks, int layers)
    {
        this.backend = backend;
        this.blocks = blocks;
        this.layers = layers;
        pool = new GrowingBuffers(backend, "text_tape");
    }

    /// <summary>Bytes of the saved activations and backward scratch now allocated, plus the blocks' workspace.</summary>
    public long Bytes => pool.Bytes + blocks.Bytes;

    /// <summary>Runs the blocks on x0[B,N,C] (left unchanged, and read again by Backward); returns the top of the stack.</summary>
    public Tensor Forward(Tensor x0, IReadOnlyList<BlockWeights> weights, bool causal)
    {
        Check.That(weights.Count == layers, "ResidualBlocksTape", $"got {weights.Count} blocks, the tape was made for {layers}");
        Check.Rank("ResidualBlocksTape", x0, 3);
        int b = x0.Shape[0], n = x0.Shape[1];
        var rows = (long)b * n;
        if (pool.Reserve(rows)) Allocate(rows);
        this.x0 = x0;
        this.causal = causal;
        var x = x0;
        for (var l = 0; l < layers; l++)
        {
            var f = blocks.Prepare(b, n, saved[l].Activations);
            var mid = saved[l].Mid(x0.Shape);
            var output = saved[l].Output(x0.Shape);
            blocks.Attend(f, mid, x, weights[l], causal);
            blocks.Mlp(f, output, mid, weights[l]);
            x = output;
        }
        return x;
    }

    /// <summary>
    /// dx[B,N,C]: on entry the gradient at the top of the stack, on return the gradient at x0 (overwritten in place),
    /// from the activations of the last <see cref="Forward"/> with the same weights.
    /// </summary>
    public void Backward(Tensor dx, IReadOnlyList<BlockWeights> weights)
    {
        Check.That(x0 is not null, "ResidualBlocksTape.Backward", "no Forward has run");
        Check.Shape("ResidualBlocksTape.Backward", dx, x0!.Shape[0], x0.Shape[1], x0.Shape[2]);
        int b = x0.Shape[0], n = x0.Shape[1], c = blocks.Width, m = b * n;
        var bk = backend;
        var dx2 = dx.Reshape(m, c);
        var dFc2 = GrowingBuffers.View(dFc, m, blocks.MlpWidth);
        Tensor dLn2 = GrowingBuffers.View(dLn, m, c), dO2 = GrowingBuffers.View(dO, m, c), dQ2 = GrowingBuffers.View(dQ, m, c),
            dK2 = GrowingBuffers.View(dK, m, c), dV2 = GrowingBuffers.View(dV, m, c);
        // dgamma/dbeta accumulate by contract and are never read; zeroing keeps them from growing without bound.
        bk.Zero(dGamma);
        bk.Zero(dBeta);
        for (var l = layers - 1; l >= 0; l--)
        {
            var w = weights[l];
            var f = blocks.Prepare(b, n, saved[l].Activations);
            var mid = saved[l].Mid(x0.Shape).Reshape(m, c);
            var input = (l == 0 ? x0 : saved[l - 1].Output(x0.Shape)).Reshape(m, c);

            // MLP half, out = mid + c_proj(GELU(c_fc(ln_2(mid)))): f.Act and f.Tmp are free scratch here.
            bk.LinearBackwardInput(f.Act, dx2, w.ProjWeight);
            bk.GeluBackward(dFc2, f.Act, f.Fc, blocks.Gelu);
            bk.LinearBackwardInput(dLn2, dFc2, w.FcWeight);
            bk.LayerNorm(f.Ln, f.Mean, f.Rstd, mid, w.Ln2Weight, w.Ln2Bias, ResidualBlocks.LayerNormEps);
            bk.LayerNormBackward(f.Tmp, dGamma, dBeta, dLn2, mid, f.Mean, f.Rstd, w.Ln2Weight);
            bk.Add(dx2, dx2, f.Tmp);

            // Attention half, mid = input + out_proj(MHA(ln_1(input))); q, k, v are row views of in_proj.
            bk.LinearBackwardInput(dO2, dx2, w.OutProjWeight);
            bk.AttentionBackward(dQ2.Reshape(b, n, c), dK2.Reshape(b, n, c), dV2.Reshape(b, n, c), dO2.Reshape(b, n, c),
                f.Q3, f.K3, f.V3, f.O3, f.Lse, blocks.Heads, causal, f.Scale);
            bk.LinearBackwardInput(dLn2, dQ2, w.QWeight);
            bk.LinearBackwardInput(f.Tmp, dK2, w.KWeight);
            bk.Add(dLn2, dLn2, f.Tmp);
            bk.LinearBackwardInput(f.Tmp, dV2, w.VWeight);
            bk.Add(dLn2, dLn2, f.Tmp);
            bk.LayerNorm(f.Ln, f.Mean, f.Rstd, input, w.Ln1Weight, w.Ln1Bias, ResidualBlocks.LayerNormEps);
            bk.LayerNormBackward(f.Tmp, dGamma, dBeta, dLn2, input, f.Mean, f.Rstd, w.Ln1Weight);
            bk.Add(dx2, dx2, f.Tmp);
        }
    }

    private void Allocate(long rows)
    {
        int c = blocks.Width, mlp = blocks.MlpWidth;
        Tensor Alloc(string name, long length) => pool.Alloc(name, length);
        saved = new Layer[layers];
        for (var l = 0; l < layers; l++)
        {
            var acts = new BlockActivations(Alloc($"{l}.q", rows * c), Alloc($"{l}.k", rows * c), Alloc($"{l}.v", rows * c),
                Alloc($"{l}.attn", rows * c), Alloc($"{l}.attn_lse", rows * blocks.Heads), Alloc($"{l}.mlp_fc", rows * mlp));
            saved[l] = new Layer(acts, Alloc($"{l}.x_mid", rows * c), Alloc($"{l}.x_out", rows * c));
        }
        dFc = Alloc("d_mlp_fc", rows * mlp);
        dLn = Alloc("d_ln", rows * c);
        dO = Alloc("d_attn", rows * c);
        dQ = Alloc("d_q", rows * c);
        dK = Alloc("d_k", rows * c);
        dV = Alloc("d_v", rows * c);
        dGamma = Alloc("d_ln_weight_discarded", c);
        dBeta = Alloc("d_ln_bias_discarded", c);
    }

    public void Dispose() => pool.Dispose();

    /// <summary>One layer's saved tensors; the residual streams are viewed at the current [B,N,C].</summary>
    private sealed record Layer(BlockActivations Activations, Tensor XMid, Tensor XOut)
    {
        public Tensor Mid(Shape s) => XMid.View(0, s);

        public Tensor Output(Shape s) => XOut.View(0, s);
    }
}
