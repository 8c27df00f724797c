using BayesPfl.Engine.Backends;
using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Model;

/// <summary>
/// CLIP's pre-norm residual block, shared by both towers, run in place on a residual stream x[B,N,C]:
///   x = x + out_proj(MHA(ln_1(x)));   x = x + c_proj(GELU(c_fc(ln_2(x))))
/// with scale 1/sqrt(D) and an optional causal mask. The activation buffers are allocated once for the
/// largest B·N seen and reused by every layer and call (a call takes views of their first B·N rows).
/// Precision is the GEMM type of the weights it runs: F32, or BF16 (bf16 mode: Linear rounds its input to bf16 and
/// accumulates in fp32; q, k, v are BF16 for Attention; LayerNorm, softmax, GELU and the residual adds stay fp32).
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
    private readonly DType gemmType;
    private readonly GrowingBuffers pool;
    private Tensor? lnGemm;
    private Tensor ln = null!, mean = null!, rstd = null!, q = null!, k = null!, v = null!, o = null!, lse = null!, tmp = null!, fc = null!, act = null!;

    /// <param name="gemmType">The blocks' GEMM weight type (<see cref="ClipWeights.GemmType"/>): F32 or BF16.</param>
    public ResidualBlocks(IBackend backend, int width, int mlpWidth, int heads, GeluKind gelu, string tag, DType gemmType = DType.F32)
    {
        if (gemmType is not (DType.F32 or DType.BF16))
            throw new ArgumentOutOfRangeException(nameof(gemmType), gemmType, $"{tag}: residual blocks run F32 or BF16 GEMM weights");
        this.gemmType = gemmType;
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
        Check.That(saved is null || gemmType == DType.F32, tag, "a backward pass needs fp32 activations; these blocks run bf16 (training is fp32 only)");
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
        CheckPrecision(w);
        var b = backend;
        var x2 = x.Reshape(f.Rows, width);
        b.LayerNorm(f.Ln, f.Mean, f.Rstd, x2, w.Ln1Weight, w.Ln1Bias, LayerNormEps);
        // bf16: Q, K and V share ln_1's output, so it is rounded once here rather than once per Linear call.
        if (!ReferenceEquals(f.LnGemm, f.Ln)) b.Cast(f.LnGemm, f.Ln);
        Project(f, f.Q, f.LnGemm, w.QWeight, w.QBias);
        Project(f, f.K, f.LnGemm, w.KWeight, w.KBias);
        Project(f, f.V, f.LnGemm, w.VWeight, w.VBias);
        // The other Linears (out_proj on o, c_fc on ln_2, c_proj on the GELU output) each have a single consumer of
        // their F32 input: Linear's own rounding is the same one pass a cast here would be, without another buffer.
        b.Attention(f.O3, f.Lse, f.Q3, f.K3, f.V3, heads, causal, f.Scale);
        b.Linear(f.Tmp, f.O, w.OutProjWeight, w.OutProjBias);
        b.Add(y.Reshape(f.Rows, width), x2, f.Tmp);
    }

    /// <summary>The MLP half: y = x + c_proj(GELU(c_fc(ln_2(x)))); y[B,N,C] may be x.</summary>
    internal void Mlp(Frame f, Tensor y, Tensor x, BlockWeights w)
    {
        Check.Shape(tag, x, f.Batch, f.Tokens, width);
        Check.Shape(tag, y, f.Batch, f.Tokens, width);
        CheckPrecision(w);
        var b = backend;
        var x2 = x.Reshape(f.Rows, width);
        b.LayerNorm(f.Ln, f.Mean, f.Rstd, x2, w.Ln2Weight, w.Ln2Bias, LayerNormEps);
        b.Linear(f.Fc, f.Ln, w.FcWeight, w.FcBias);
        b.Gelu(f.Act, f.Fc, gelu);
        b.Linear(f.Tmp, f.Act, w.ProjWeight, w.ProjBias);
        b.Add(y.Reshape(f.Rows, width), x2, f.Tmp);
    }

    /// <summary>
    /// y[rows,C] = Linear(x) as Attention's operand: written directly when y is F32; in bf16 Linear writes F32, so it goes
    /// through the branch scratch (free until out_proj) and one cast to BF16.
    /// </summary>
    private void Project(Frame f, Tensor y, Tensor x, Tensor w, Tensor bias)
    {
        if (y.DType == DType.F32)
        {
            backend.Linear(y, x, w, bias);
            return;
        }
        backend.Linear(f.Tmp, x, w, bias);
        backend.Cast(y, f.Tmp);
    }

    private void CheckPrecision(BlockWeights w) =>
        Check.That(w.QWeight.DType == gemmType && w.FcWeight.DType == gemmType && w.OutProjWeight.DType == gemmType && w.ProjWeight.DType == gemmType,
            tag, $"block weights {w.InProjWeight.Name} are {w.InProjWeight.DType}, these blocks were made for {gemmType} GEMM weights");

    private void Allocate(long rows)
    {
        Tensor Alloc(string name, long length, DType dtype = DType.F32) => pool.Alloc(name, length, dtype);
        ln = Alloc("ln", rows * width);
        mean = Alloc("ln_mean", rows);
        rstd = Alloc("ln_rstd", rows);
        lnGemm = gemmType == DType.F32 ? null : Alloc("ln_bf16", rows * width, gemmType);
        // Attention's operands: F32, or BF16 in bf16 mode (it takes q, k, v all BF16 there).
        q = Alloc("q", rows * width, gemmType);
        k = Alloc("k", rows * width, gemmType);
        v = Alloc("v", rows * width, gemmType);
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
            LnGemm = r.lnGemm is null ? Ln : GrowingBuffers.View(r.lnGemm, Rows, c);
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

        /// <summary>The Q/K/V projections' input: <see cref="Ln"/> itself in fp32, its bf16 rounding in bf16 mode.</summary>
        internal Tensor LnGemm { get; }

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
