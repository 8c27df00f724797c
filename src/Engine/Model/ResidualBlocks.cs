using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model;

/// <summary>
/// CLIP's pre-norm residual block, shared by both towers, run in place on a residual stream x[B,N,C]:
///   x = x + out_proj(MHA(ln_1(x)));   x = x + c_proj(GELU(c_fc(ln_2(x))))
/// with scale 1/sqrt(D) and an optional causal mask. The activation buffers are allocated once for the
/// largest B·N seen and reused by every layer and call (a call takes views of their first B·N rows).
/// </summary>
public sealed class ResidualBlocks : IDisposable
{
    /// <summary>CLIP's LayerNorm epsilon (PyTorch's default).</summary>
    public const float LayerNormEps = 1e-5f;

    private readonly IBackend backend;
    private readonly int width;
    private readonly int mlpWidth;
    private readonly int heads;
    private readonly GeluKind gelu;
    private readonly string tag;
    private readonly GrowingBuffers pool;
    private Tensor ln = null!, mean = null!, rstd = null!, q = null!, k = null!, v = null!, o = null!, lse = null!, tmp = null!, fc = null!, act = null!;

    public ResidualBlocks(IBackend backend, int width, int mlpWidth, int heads, GeluKind gelu, string tag)
    {
        this.backend = backend;
        this.width = width;
        this.mlpWidth = mlpWidth;
        this.heads = heads;
        this.gelu = gelu;
        this.tag = tag;
        pool = new GrowingBuffers(backend, tag);
    }

    /// <summary>Views of the workspace for one call over <paramref name="batch"/> sequences of <paramref name="tokens"/>.</summary>
    public Frame Prepare(int batch, int tokens) => Prepare(batch, tokens, null);

    /// <summary>
    /// Like <see cref="Prepare(int, int)"/>, but with <paramref name="saved"/> q, k, v, o, lse and the MLP
    /// pre-activation go to the caller's buffers (a backward pass needs them after later layers reused this workspace).
    /// </summary>
    internal Frame Prepare(int batch, int tokens, BlockActivations? saved)
    {
        var rows = (long)batch * tokens;
        if (pool.Reserve(rows)) Allocate(rows);
        return new Frame(this, batch, tokens, saved);
    }

    internal int Width => width;
    internal int MlpWidth => mlpWidth;
    internal int Heads => heads;
    internal GeluKind Gelu => gelu;

    /// <summary>Bytes of the workspace now allocated.</summary>
    internal long Bytes => pool.Bytes;

    /// <summary>Runs one block on x[B,N,C] (in place).</summary>
    public void Run(Frame f, Tensor x, BlockWeights w, bool causal)
    {
        Attend(f, x, x, w, causal);
        Mlp(f, x, x, w);
    }

    /// <summary>The attention half: y = x + out_proj(MHA(ln_1(x))); y[B,N,C] may be x.</summary>
    internal void Attend(Frame f, Tensor y, Tensor x, BlockWeights w, bool causal)
    {
        Check.Shape(tag, x, f.Batch, f.Tokens, width);
        Check.Shape(tag, y, f.Batch, f.Tokens, width);
        var b = backend;
        var x2 = x.Reshape(f.Rows, width);
        b.LayerNorm(f.Ln, f.Mean, f.Rstd, x2, w.Ln1Weight, w.Ln1Bias, LayerNormEps);
        b.Linear(f.Q, f.Ln, w.QWeight, w.QBias);
        b.Linear(f.K, f.Ln, w.KWeight, w.KBias);
        b.Linear(f.V, f.Ln, w.VWeight, w.VBias);
        b.Attention(f.O3, f.Lse, f.Q3, f.K3, f.V3, heads, causal, f.Scale);
        b.Linear(f.Tmp, f.O, w.OutProjWeight, w.OutProjBias);
        b.Add(y.Reshape(f.Rows, width), x2, f.Tmp);
    }

    /// <summary>The MLP half: y = x + c_proj(GELU(c_fc(ln_2(x)))); y[B,N,C] may be x.</summary>
    internal void Mlp(Frame f, Tensor y, Tensor x, BlockWeights w)
    {
        Check.Shape(tag, x, f.Batch, f.Tokens, width);
        Check.Shape(tag, y, f.Batch, f.Tokens, width);
        var b = backend;
        var x2 = x.Reshape(f.Rows, width);
        b.LayerNorm(f.Ln, f.Mean, f.Rstd, x2, w.Ln2Weight, w.Ln2Bias, LayerNormEps);
        b.Linear(f.Fc, f.Ln, w.FcWeight, w.FcBias);
        b.Gelu(f.Act, f.Fc, gelu);
        b.Linear(f.Tmp, f.Act, w.ProjWeight, w.ProjBias);
        b.Add(y.Reshape(f.Rows, width), x2, f.Tmp);
    }

    private void Allocate(long rows)
    {
        Tensor Alloc(string name, long length) => pool.Alloc(name, length);
        ln = Alloc("ln", rows * width);
        mean = Alloc("ln_mean", rows);
        rstd = Alloc("ln_rstd", rows);
        q = Alloc("q", rows * width);
        k = Alloc("k", rows * width);
        v = Alloc("v", rows * width);
        o = Alloc("attn", rows * width);
        lse = Alloc("attn_lse", rows * heads);
        tmp = Alloc("branch", rows * width);
        fc = Alloc("mlp_fc", rows * mlpWidth);
        act = Alloc("mlp_act", rows * mlpWidth);
    }

    public void Dispose() => pool.Dispose();

    /// <summary>The workspace shaped for one call: views of the first B·N rows of each buffer.</summary>
    public sealed class Frame
    {
        internal Frame(ResidualBlocks r, int batch, int tokens, BlockActivations? saved)
        {
            var s = saved ?? new BlockActivations(r.q, r.k, r.v, r.o, r.lse, r.fc);
            Batch = batch;
            Tokens = tokens;
            Rows = batch * tokens;
            int c = r.width, f = r.mlpWidth;
            Ln = GrowingBuffers.View(r.ln, Rows, c);
            Mean = GrowingBuffers.View(r.mean, Rows);
            Rstd = GrowingBuffers.View(r.rstd, Rows);
            Q = GrowingBuffers.View(s.Q, Rows, c);
            K = GrowingBuffers.View(s.K, Rows, c);
            V = GrowingBuffers.View(s.V, Rows, c);
            O = GrowingBuffers.View(s.O, Rows, c);
            Q3 = GrowingBuffers.View(s.Q, batch, tokens, c);
            K3 = GrowingBuffers.View(s.K, batch, tokens, c);
            V3 = GrowingBuffers.View(s.V, batch, tokens, c);
            O3 = GrowingBuffers.View(s.O, batch, tokens, c);
            Lse = GrowingBuffers.View(s.Lse, batch, r.heads, tokens);
            Tmp = GrowingBuffers.View(r.tmp, Rows, c);
            Fc = GrowingBuffers.View(s.Fc, Rows, f);
            Act = GrowingBuffers.View(r.act, Rows, f);
            Scale = (float)(1.0 / Math.Sqrt(c / r.heads));
        }

        public int Batch { get; }
        public int Tokens { get; }
        public int Rows { get; }

        /// <summary>LayerNorm output [B·N,C]; also free scratch between blocks (a tower may assemble its input here).</summary>
        public Tensor Ln { get; }

        internal Tensor Mean { get; }
        internal Tensor Rstd { get; }
        internal Tensor Q { get; }
        internal Tensor K { get; }
        internal Tensor V { get; }
        internal Tensor O { get; }
        internal Tensor Q3 { get; }
        internal Tensor K3 { get; }
        internal Tensor V3 { get; }
        internal Tensor O3 { get; }
        internal Tensor Lse { get; }
        internal Tensor Tmp { get; }
        internal Tensor Fc { get; }
        internal Tensor Act { get; }
        internal float Scale { get; }

    }
}
