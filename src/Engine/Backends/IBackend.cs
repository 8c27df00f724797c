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

    /// <summary>Copies host floats into dst; a BF16 dst gets them rounded to nearest even (NaN stays NaN).</summary>
    void Upload(Tensor dst, ReadOnlySpan<float> src);

    /// <summary>Copies src to host floats; a BF16 src widens exactly.</summary>
    void Download(Tensor src, Span<float> dst);

    /// <summary>
    /// Element-wise conversion between F32 and BF16 tensors of the same length: F32 → BF16 rounds to nearest
    /// even (NaN stays NaN, ±Inf stays ±Inf), BF16 → F32 widens exactly; F32 → F32 and BF16 → BF16 copy.
    /// </summary>
    void Cast(Tensor dst, Tensor src);

    void Copy(Tensor dst, Tensor src);

    void Zero(Tensor t);

    /// <summary>Wait until all queued work has finished (a no-op on the CPU).</summary>
    void Synchronize();

    // ---- GEMM (Linear layer, PyTorch weight layout) ----

    /// <summary>
    /// y[M,N] = x[M,K] · w[N,K]^T + bias[N] (bias optional). y and bias are F32. bf16 mode: when w is BF16, x may
    /// be F32 (rounded to bf16 on the fly) or BF16, and y = bf16(x)·wᵀ + bias with fp32 accumulation (tensor cores
    /// on the GPU). x BF16 with w F32 is an error. The backward ops take F32 only (bf16 is inference-only).
    /// </summary>
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
    /// Multi-head attention, softmax(q·kᵀ·scale [+ causal mask]) · v (fp32: fused, without writing the score matrix):
    /// q[B,Nq,H*D], k,v[B,Nk,H*D] → o[B,Nq,H*D]; lse[B,H,Nq] = log-sum-exp of each score row (saved for
    /// backward). Causal requires Nq == Nk (query i sees keys 0..i).
    /// bf16 mode: q, k, v all BF16 (o and lse stay F32): scores s = scale·q·kᵀ accumulated in fp32, softmax in fp32,
    /// the probabilities rounded to bf16 before P·v (fp32 accumulation), as a tensor-core pipeline computes it (on
    /// CUDA: two cuBLAS bf16 GEMMs around a softmax kernel, the score rows in a bounded scratch).
    /// AttentionBackward takes F32 only.
    /// </summary>
    void Attention(Tensor o, Tensor lse, Tensor q, Tensor k, Tensor v, int heads, bool causal, float scale);

    /// <summary>dq, dk, dv overwritten.</summary>
    void AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v, Tensor o, Tensor lse,
        int heads, bool causal, float scale);

    // ---- embedding ----

    /// <summary>
    /// Row gather with an optional splice and positional add (the CLIP text input, spec §4.4):
    /// y[i,t] = src(i,t) (+ pos[t]) with src(i,t) = table[ids[i,t]] when ids[i,t] ≥ 0 and
    /// inject[i, −1−ids[i,t]] when it is negative. ids[n,T] holds integers stored as F32 (tensors are F32;
    /// exact below 2^24), y[n,T,C], table[V,C], pos[≥T,C] and inject[n,J,C] optional. An id outside
    /// [−J, V) is an error: the CPU throws, a kernel (which cannot throw) writes a NaN row.
    /// </summary>
    void Embedding(Tensor y, Tensor ids, Tensor table, Tensor? pos, Tensor? inject);

    /// <summary>
    /// Gradient of <see cref="Embedding"/> with respect to the spliced rows only (the token table and the
    /// positional rows are frozen CLIP weights): dinject[i,j] = Σ_t [ids[i,t] = −1−j] dy[i,t], summed in t order
    /// (zero for a slot that no id names); dinject[n,J,C] OVERWRITTEN, dy[n,T,C], ids[n,T].
    /// </summary>
    void EmbeddingBackward(Tensor dinject, Tensor dy, Tensor ids);

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

    // ---- Bayes-PFL head (prompt flows and similarity maps; h-head) ----

    /// <summary>
    /// Fused test-time anomaly map: s[L, 2M, h, w] holds per layer the M normal then the M abnormal logit maps
    /// at grid resolution; map[H, W] = (1/(L·M)) Σ_j Σ_m sigmoid(scale · up(s[j, m+M] − s[j, m])) with up =
    /// bilinear align_corners=True to H x W. The difference is up-sampled (bilinear is linear), never the L·2M
    /// full-size maps; scale is exp(tau_pix) so that s can be the plain GEMM K·T'ᵀ.
    /// </summary>
    void SimilarityMap(Tensor map, Tensor s, float scale);

    /// <summary>
    /// Gradient of <see cref="SimilarityMap"/> w.r.t. the logit maps: ds[L,2M,h,w] OVERWRITTEN from dmap[H,W];
    /// ds[j,m+M] = −ds[j,m] = Σ over the output pixels whose bilinear taps read the cell of
    /// tap weight · scale · σ'(·) · dmap / (L·M) (a deterministic gather, no atomics).
    /// </summary>
    void SimilarityMapBackward(Tensor ds, Tensor dmap, Tensor s, float scale);

    /// <summary>
    /// K planar-flow steps per sample (no parameters of its own): for k = 0..K-1, a[r,k] = w[k]·z + b[k],
    /// z += u[k]·tanh(a), logdet[r] += log(|1 + (1 − tanh²(a))·(w[k]·u[k])| + 1e-5); z starts at z0[r].
    /// zK[R,D], logdet[R] (overwritten), a[R,K] saved; u, w [P,K,D] and b [P,K] with P = R (per-sample,
    /// amortised) or P = 1 (shared by all samples).
    /// </summary>
    void PlanarFlow(Tensor zK, Tensor logdet, Tensor a, Tensor z0, Tensor u, Tensor w, Tensor b);

    /// <summary>
    /// Gradient of <see cref="PlanarFlow"/> from dzK[R,D] and dlogdet[R], using the saved a[R,K] (the z_k are
    /// recomputed from z0 exactly as the forward made them): dz0[R,D] OVERWRITTEN; du, dw [P,K,D] and db [P,K]
    /// ACCUMULATE (they are parameters when shared; P = 1 sums over the samples in order r = 0..R−1).
    /// d log(|ψ| + 1e-5)/dψ = sign(ψ)/(|ψ| + 1e-5) with sign(0) = 0, as PyTorch's abs.
    /// </summary>
    void PlanarFlowBackward(Tensor dz0, Tensor du, Tensor dw, Tensor db, Tensor dzK, Tensor dlogdet, Tensor a,
        Tensor z0, Tensor u, Tensor w, Tensor b);

    /// <summary>
    /// Reparameterised base sample of an Encoder (spec 5.1): v[P,D] = exp(0.5·h) (treated as the variance),
    /// z0[R,D] = mu[p] + sqrt(v[p])·eps[r] with mu, h [P,D], P = R or 1 (one distribution for all samples).
    /// </summary>
    void FlowBaseSample(Tensor z0, Tensor v, Tensor mu, Tensor h, Tensor eps);

    /// <summary>
    /// Gradient of <see cref="FlowBaseSample"/>: dmu[p] = Σ_r dz0[r], dh[p] = Σ_r dz0[r]·eps[r]·0.25·sqrt(v[p])
    /// (+ dv[p]·0.5·v[p] when the variance itself has a gradient, e.g. from the KL), sums over the samples that
    /// used row p in order r = 0..R−1. dmu, dh [P,D] OVERWRITTEN (activations of the Encoder heads); dz0, eps
    /// [R,D]; dv (optional), v [P,D].
    /// </summary>
    void FlowBaseSampleBackward(Tensor dmu, Tensor dh, Tensor dz0, Tensor? dv, Tensor v, Tensor eps);

    /// <summary>
    /// Learnable prompt tokens for the text tower (spec 4.4, 6): ctx, stateNormal, stateAbnormal [B,S,C];
    /// zc, zn, za [R,C] → blocks[2·B·R, 2S, C], where block half·B·R + r·B + b (normal half first) is
    /// [ctx[b] + zc[r] (S rows); state_half[b] + z_half[r] (S rows)].
    /// </summary>
    void PromptBlocks(Tensor blocks, Tensor ctx, Tensor stateNormal, Tensor stateAbnormal, Tensor zc, Tensor zn, Tensor za);

    /// <summary>
    /// Gradient of <see cref="PromptBlocks"/> from dblocks[2·B·R, 2S, C]: dctx, dstateNormal, dstateAbnormal
    /// [B,S,C] ACCUMULATE (parameters; sums over halves then samples); dzc, dzn, dza [R,C] OVERWRITTEN (flow
    /// outputs; sums over halves, bank entries, then rows). Fixed summation orders, no atomics.
    /// </summary>
    void PromptBlocksBackward(Tensor dctx, Tensor dstateNormal, Tensor dstateAbnormal, Tensor dzc, Tensor dzn, Tensor dza, Tensor dblocks);
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
