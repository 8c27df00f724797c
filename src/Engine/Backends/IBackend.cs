using BayesPfl.Engine.Tensors;

namespace BayesPfl.Engine.Backends;

/// <summary>GELU flavour: exact erf form (what Bayes-PFL's CLIP uses) or CLIP's original QuickGELU.</summary>
public enum GeluKind
{
    Erf = 0,
    Quick = 1,
}

/// <summary>
/// Where tensors live and ops run. <see cref="CpuBackend"/> is the readable reference; CudaBackend runs the
/// kernels of src/Kernels. Argument order everywhere (kernel, launcher, reference): outputs, saved-for-backward,
/// inputs, then scalars; sizes come from the tensors' shapes and are checked before anything runs.
/// Gradient semantics: parameter gradients (dW, dbias, dgamma, dbeta) ACCUMULATE into their buffers;
/// activation gradients (dx, dq, ...) OVERWRITE theirs.
/// Glossary: B batch, N tokens, C width, H heads, D head dim, M rows.
/// </summary>
public partial interface IBackend : IDisposable
{
    string Name { get; }

    Tensor Allocate(Shape shape, string name, DType dtype = DType.F32);

    void Upload(Tensor dst, ReadOnlySpan<float> src);

    void Download(Tensor src, Span<float> dst);

    void Copy(Tensor dst, Tensor src);

    void Zero(Tensor t);

    /// <summary>Wait until all queued work has finished (a no-op on the CPU).</summary>
    void Synchronize();

    // ---- GEMM (Linear layer, PyTorch weight layout) ----

    /// <summary>y[M,N] = x[M,K] · w[N,K]^T + bias[N] (bias optional).</summary>
    void Linear(Tensor y, Tensor x, Tensor w, Tensor? bias);

    /// <summary>dx[M,K] = dy[M,N] · w[N,K] (overwrites dx).</summary>
    void LinearBackwardInput(Tensor dx, Tensor dy, Tensor w);

    /// <summary>dw[N,K] += dy[M,N]^T · x[M,K]; dbias[N] += Σ_rows dy (dbias optional).</summary>
    void LinearBackwardWeight(Tensor dw, Tensor? dbias, Tensor dy, Tensor x);

    /// <summary>Batched c[b] = a[b]·op(bm[b]) with a[Bt,M,K], bm[Bt,K,N] (or [Bt,N,K] when transposeB) → c[Bt,M,N].</summary>
    void BatchedMatMul(Tensor c, Tensor a, Tensor bm, bool transposeB);

    // ---- normalisation and pointwise ----

    /// <summary>LayerNorm over the last dim C: y = (x-mean)*rstd*gamma + beta, two-pass statistics, mean/rstd [rows].</summary>
    void LayerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor gamma, Tensor beta, float eps);

    /// <summary>dx overwritten; dgamma, dbeta accumulate.</summary>
    void LayerNormBackward(Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma);

    void Gelu(Tensor y, Tensor x, GeluKind kind);

    void GeluBackward(Tensor dx, Tensor dy, Tensor x, GeluKind kind);

    /// <summary>y = a + b, same shapes (y may alias a or b).</summary>
    void Add(Tensor y, Tensor a, Tensor b);

    /// <summary>Softmax over the last dim, max-subtracted.</summary>
    void Softmax(Tensor y, Tensor x);

    /// <summary>dx = y ⊙ (dy − Σ dy⊙y) per row.</summary>
    void SoftmaxBackward(Tensor dx, Tensor dy, Tensor y);

    /// <summary>y = x / ‖x‖₂ per row of the last dim (no epsilon, as in the reference); norm[rows] saved.</summary>
    void L2Normalize(Tensor y, Tensor norm, Tensor x);

    void L2NormalizeBackward(Tensor dx, Tensor dy, Tensor y, Tensor norm);

    /// <summary>Softplus log(1+e^x), linear above the threshold 20 as in PyTorch.</summary>
    void Softplus(Tensor y, Tensor x);

    void SoftplusBackward(Tensor dx, Tensor dy, Tensor x);

    void Tanh(Tensor y, Tensor x);

    /// <summary>dx = dy ⊙ (1 − y²), from the saved output y.</summary>
    void TanhBackward(Tensor dx, Tensor dy, Tensor y);

    // ---- attention ----

    /// <summary>
    /// Multi-head attention, softmax(q·kᵀ·scale [+ causal mask]) · v, without writing the score matrix:
    /// q[B,Nq,H*D], k,v[B,Nk,H*D] → o[B,Nq,H*D]; lse[B,H,Nq] = log-sum-exp of each score row (saved for
    /// backward). Causal requires Nq == Nk (query i sees keys 0..i).
    /// </summary>
    void Attention(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, int heads, bool causal, float scale);

    /// <summary>dq, dk, dv overwritten.</summary>
    void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse,
        int heads, bool causal, float scale);

    // ---- vision and maps ----

    /// <summary>
    /// Conv2d with kernel = stride = patch, no bias: image[B,Cin,Hin,Win], w[C,Cin,p,p] → y[B,P,C] with
    /// P = (Hin/p)·(Win/p) patches in row-major grid order.
    /// </summary>
    void PatchEmbed(Tensor y, Tensor image, Tensor w);

    /// <summary>Bilinear, align_corners=True: x[..,h,w] → y[..,Hout,Wout] (same leading dims).</summary>
    void UpsampleBilinear(Tensor y, Tensor x);

    /// <summary>Deterministic gather (no atomics): dx[..,h,w] from dy[..,Hout,Wout]; dx overwritten.</summary>
    void UpsampleBilinearBackward(Tensor dx, Tensor dy);
}

// Appended by the training helper (h-train); kept in one block so that merges stay trivial.
public partial interface IBackend
{
    // ---- training losses ----

    /// <summary>
    /// Segmentation loss of spec §9.2 at full resolution, pooled over the batch: logits[Bt,2,S,S] (channel 0
    /// normal, 1 abnormal), mask[Bt,S,S] (G, 0 or 1; G = mask &gt; 0.5) → loss[2] = (class-balanced focal, dice).
    /// P = 2-class softmax; focal fl = −(1−p_t)²·log(p_t + 1e-8) summed per class over #G + 1e-8; dice on P₁.
    /// stats[8] (saved for backward): #G=1, #G=0, Σ_{G=1} fl, Σ_{G=0} fl, Σ P₁G, Σ P₁, Σ G, 0.
    /// Reductions are deterministic (fixed partial sums, then one fixed-order pass).
    /// </summary>
    void SegLoss(Tensor loss, Tensor stats, Tensor logits, Tensor mask);

    /// <summary>dlogits[Bt,2,S,S] = dFocal·∂focal/∂logits + dDice·∂dice/∂logits (overwritten).</summary>
    void SegLossBackward(Tensor dlogits, Tensor stats, Tensor logits, Tensor mask, float dFocal, float dDice);

    /// <summary>
    /// One torch.optim.Adam step (no weight decay) over a flat parameter: m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²;
    /// p −= stepSize·m / (√v / √(1 − β₂ᵗ) + eps) with stepSize = lr / (1 − β₁ᵗ); the scalars come from
    /// <see cref="AdamScalars.For"/> (computed in double, as PyTorch does). param, m, v are updated in place.
    /// </summary>
    void AdamStep(Tensor param, Tensor m, Tensor v, Tensor grad, AdamScalars s);
}
