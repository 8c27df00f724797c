// planar_flow.cu: the prompt-flow family (Bayes-PFL spec 5), forward and backward: planar_flow_forward (below),
// flow_base_sample_forward (Encoder reparameterisation) and flow_prompt_blocks_forward (prompt assembly), each
// followed by its _backward with its own header further down.
//
// planar_flow_forward: K sequential planar-flow steps per sample (spec 5.2).
// z = z0[r]; for k < K:  a[r,k] = w_k·z + b_k;  z += u_k·tanh(a[r,k]);
//                        logdet[r] += log(|1 + (1 − tanh²(a[r,k]))·(w_k·u_k)| + 1e-5);   zK[r] = z.
// Shapes: zK, z0 [R, D]; logdet [R] (OVERWRITTEN, sum over steps); a [R, K] (saved pre-activations);
//         u, w [P, K, D] and b [P, K] with P = R (amortised, sample r uses set r) or P = 1 (shared set).
// No invertibility constraint on u (spec 14.5): the |·| + 1e-5 keeps the log finite instead.
// Gradient: planar_flow_backward (below): dz0 overwritten, du/dw/db accumulate.
// Reference: BayesPfl.Engine.Backends.Cpu.PlanarFlowReference.Forward.
//
// One block per sample (R ≤ a few tens, D = 768): the steps are sequential, each needs two length-D dot
// products, which block_sum reduces in a fixed order (deterministic). Each thread owns the coordinates
// d ≡ threadIdx.x (mod blockDim.x) of z, kept in zK itself, so the axpy needs no synchronisation; blockDim
// must be a multiple of 32 (block_sum), and its scratch holds one float per warp.
#include "common.cuh"

extern "C" __global__ void planar_flow_forward(float* zK,           // [R, D]
                                               float* logdet,       // [R]
                                               float* a,            // [R, K]
                                               const float* z0,     // [R, D]
                                               const float* u,      // [P, K, D]
                                               const float* w,      // [P, K, D]
                                               const float* b,      // [P, K]
                                               int R, int K, int D, int shared) {
    __shared__ float scratch[WARP_SIZE];
    const int r = blockIdx.x;
    if (r >= R) return;
    const int p = shared ? 0 : r;
    float* z = zK + (long)r * D;
    for (int d = threadIdx.x; d < D; d += blockDim.x) z[d] = z0[(long)r * D + d];
    float total = 0.0f;
    for (int k = 0; k < K; k++) {
        const float* uk = u + ((long)p * K + k) * D;
        const float* wk = w + ((long)p * K + k) * D;
        float wz = 0.0f, wu = 0.0f;
        for (int d = threadIdx.x; d < D; d += blockDim.x) {
            wz += wk[d] * z[d];
            wu += wk[d] * uk[d];
        }
        const float act = block_sum(wz, scratch) + b[(long)p * K + k];
        wu = block_sum(wu, scratch);
        const float t = tanhf(act);
        for (int d = threadIdx.x; d < D; d += blockDim.x) z[d] += uk[d] * t;
        total += logf(fabsf(1.0f + (1.0f - t * t) * wu) + 1e-5f);
        if (threadIdx.x == 0) a[(long)r * K + k] = act;
    }
    if (threadIdx.x == 0) logdet[r] = total;
}

// planar_flow_backward: the reverse pass, step k = K−1..0, with g = dL/dz_(k+1) (kept in dz0[r]),
// t = tanh(a[r,k]), t' = 1 − t², ψ = 1 + t'·(w_k·u_k), c = dlogdet[r]·sign(ψ)/(|ψ| + 1e-5) (sign(0) = 0):
//   da = t'·(g·u_k) − 2·t·t'·(w_k·u_k)·c;   du_k += g·t + c·t'·w_k;   dw_k += da·z_k + c·t'·u_k;
//   db_k += da;   g ← g + da·w_k.
// Shapes: dz0, dzK, z0 [R, D] (dz0 OVERWRITTEN); dlogdet [R]; a [R, K] (saved by the forward);
//         u, w, du, dw [P, K, D], db [P, K] (ACCUMULATE: parameters when shared). b is not read: a holds it.
// Reference: PlanarFlowReference.Backward (same step order and per-sample order).
// One block per parameter set p: per-sample sets (P = R) give one sample per block; a shared set (P = 1)
// makes block 0 walk the samples r = 0..R−1 in order, so the sum over samples needs no atomics and is
// deterministic (R is ≤ a few tens and the flow is tiny next to the text tower). z_k is recomputed from z0
// with the saved a for every step (O(K²·D), K = 10), giving bitwise the forward's z_k; it lives in dynamic
// shared memory [D] (the launcher passes D floats), each thread touching only its own coordinates.
extern "C" __global__ void planar_flow_backward(float* dz0,            // [R, D]
                                                float* du,             // [P, K, D]
                                                float* dw,             // [P, K, D]
                                                float* db,             // [P, K]
                                                const float* dzK,      // [R, D]
                                                const float* dlogdet,  // [R]
                                                const float* a,        // [R, K]
                                                const float* z0,       // [R, D]
                                                const float* u,        // [P, K, D]
                                                const float* w,        // [P, K, D]
                                                int R, int K, int D, int shared) {
    __shared__ float scratch[WARP_SIZE];
    DYNAMIC_SMEM(float, z);
    const int p = blockIdx.x;
    if (p >= (shared ? 1 : R)) return;
    const int rEnd = shared ? R : p + 1;
    for (int r = shared ? 0 : p; r < rEnd; r++) {
        float* g = dz0 + (long)r * D;
        const float* zr = z0 + (long)r * D;
        for (int d = threadIdx.x; d < D; d += blockDim.x) g[d] = dzK[(long)r * D + d];
        const float gl = dlogdet[r];
        for (int k = K - 1; k >= 0; k--) {
            for (int d = threadIdx.x; d < D; d += blockDim.x) z[d] = zr[d];
            for (int j = 0; j < k; j++) {
                const float tj = tanhf(a[(long)r * K + j]);
                const float* uj = u + ((long)p * K + j) * D;
                for (int d = threadIdx.x; d < D; d += blockDim.x) z[d] += uj[d] * tj;
            }
            const long at = ((long)p * K + k) * D;
            const float* uk = u + at;
            const float* wk = w + at;
            float gu = 0.0f, wu = 0.0f;
            for (int d = threadIdx.x; d < D; d += blockDim.x) {
                gu += g[d] * uk[d];
                wu += wk[d] * uk[d];
            }
            gu = block_sum(gu, scratch);
            wu = block_sum(wu, scratch);
            const float t = tanhf(a[(long)r * K + k]);
            const float tp = 1.0f - t * t;
            const float psi = 1.0f + tp * wu;
            const float sign = psi > 0.0f ? 1.0f : (psi < 0.0f ? -1.0f : 0.0f);
            const float c = gl * sign / (fabsf(psi) + 1e-5f);
            const float da = tp * gu - 2.0f * t * tp * wu * c;
            for (int d = threadIdx.x; d < D; d += blockDim.x) {
                du[at + d] += g[d] * t + c * tp * wk[d];
                dw[at + d] += da * z[d] + c * tp * uk[d];
                g[d] += da * wk[d];
            }
            if (threadIdx.x == 0) db[(long)p * K + k] += da;
        }
    }
}

// Encoder base sample (spec 5.1): v[P,D] = exp(0.5·h) (used as the VARIANCE, spec 14.4),
// z0[R,D] = mu[p] + sqrt(v[p])·eps[r]; P = R or 1 (shared). One thread per z0 element; the threads of
// sample 0 also write v (v has P ≤ R rows). sqrt of the stored v (not exp(0.25·h)) rounds as PyTorch does.
// Reference: PromptFlowReference.Sample.
extern "C" __global__ void flow_base_sample_forward(float* z0,          // [R, D]
                                                    float* v,           // [P, D]
                                                    const float* mu,    // [P, D]
                                                    const float* h,     // [P, D]
                                                    const float* eps,   // [R, D]
                                                    int R, int D, int shared) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)R * D) return;
    const long p = shared ? idx % D : idx;
    const float var = expf(0.5f * h[p]);
    if (!shared || idx < D) v[p] = var;
    z0[idx] = mu[p] + sqrtf(var) * eps[idx];
}

// flow_base_sample_backward: dmu[p] = Σ_r dz0[r], dh[p] = Σ_r dz0[r]·eps[r]·0.25·sqrt(v[p]) (+ dv[p]·0.5·v[p]
// when the variance has its own gradient, from the KL), r over the samples that used row p in increasing order.
// Shapes: dmu, dh, dv (optional, may be null), v [P, D]; dz0, eps [R, D]. dmu, dh OVERWRITTEN (Encoder head
// outputs). One thread per (p, d): a shared row (P = 1) loops over all R samples itself, so no atomics.
// Reference: PromptFlowReference.SampleBackward.
extern "C" __global__ void flow_base_sample_backward(float* dmu,          // [P, D]
                                                     float* dh,           // [P, D]
                                                     const float* dz0,    // [R, D]
                                                     const float* dv,     // [P, D] or null
                                                     const float* v,      // [P, D]
                                                     const float* eps,    // [R, D]
                                                     int R, int D, int shared) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    const long rows = shared ? 1 : R;
    if (idx >= rows * D) return;
    const int d = (int)(idx % D), p = (int)(idx / D);
    const int rEnd = shared ? R : p + 1;
    float sz = 0.0f, se = 0.0f;
    for (int r = shared ? 0 : p; r < rEnd; r++) {
        sz += dz0[(long)r * D + d];
        se += dz0[(long)r * D + d] * eps[(long)r * D + d];
    }
    dmu[idx] = sz;
    dh[idx] = se * 0.25f * sqrtf(v[idx]) + (dv != 0 ? dv[idx] * 0.5f * v[idx] : 0.0f);
}

// Prompt blocks (spec 4.4, 6): blocks[(half·R + r)·B + b] = [ctx[b] + zc[r] (S rows); st_half[b] + z_half[r]
// (S rows)], half 0 = normal (stN, zn), 1 = abnormal (stA, za). Shapes: ctx, stN, stA [B,S,C]; zc, zn, za [R,C];
// blocks [2·B·R, 2S, C]. One thread per output element. Reference: PromptFlowReference.Blocks.
extern "C" __global__ void flow_prompt_blocks_forward(float* blocks,       // [2BR, 2S, C]
                                                      const float* ctx,    // [B, S, C]
                                                      const float* stN,    // [B, S, C]
                                                      const float* stA,    // [B, S, C]
                                                      const float* zc,     // [R, C]
                                                      const float* zn,     // [R, C]
                                                      const float* za,     // [R, C]
                                                      int B, int R, int S, int C) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= 4L * B * R * S * C) return;
    const int c = (int)(idx % C);
    const int row = (int)(idx / C % (2 * S));
    const long block = idx / ((long)C * 2 * S);
    const int b = (int)(block % B), r = (int)(block / B % R), half = (int)(block / ((long)B * R));
    if (row < S) {
        blocks[idx] = ctx[((long)b * S + row) * C + c] + zc[(long)r * C + c];
    } else {
        const float* st = half == 0 ? stN : stA;
        const float* z = half == 0 ? zn : za;
        blocks[idx] = st[((long)b * S + row - S) * C + c] + z[(long)r * C + c];
    }
}

// flow_prompt_blocks_backward: the transpose of flow_prompt_blocks_forward, as two sets of gather threads in one
// launch. Threads [0, B·S·C): dctx[b,t,c] += Σ_half Σ_r dblocks[(half·R+r)·B+b, t, c]; dstN / dstA[b,t,c] +=
// Σ_r dblocks[(half·R+r)·B+b, S+t, c] (ACCUMULATE: learnable prompt parameters). Threads [B·S·C, +R·C):
// dzc[r,c] = Σ_half Σ_b Σ_t dblocks[(half·R+r)·B+b, t, c]; dzn / dza[r,c] = Σ_b Σ_t dblocks[.., S+t, c]
// (OVERWRITTEN: flow outputs). Each thread owns its outputs and sums in the order written (no atomics).
// Reference: PromptFlowReference.BlocksBackward.
__device__ __forceinline__ long pb_at(int half, int r, int b, int row, int c, int B, int R, int S, int C) {
    return ((((long)half * R + r) * B + b) * 2 * S + row) * C + c;
}

extern "C" __global__ void flow_prompt_blocks_backward(float* dctx,           // [B, S, C]
                                                       float* dstN,           // [B, S, C]
                                                       float* dstA,           // [B, S, C]
                                                       float* dzc,            // [R, C]
                                                       float* dzn,            // [R, C]
                                                       float* dza,            // [R, C]
                                                       const float* dblocks,  // [2BR, 2S, C]
                                                       int B, int R, int S, int C) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    const long params = (long)B * S * C;
    if (idx < params) {
        const int c = (int)(idx % C), t = (int)(idx / C % S), b = (int)(idx / ((long)C * S));
        float sc = 0.0f, sn = 0.0f, sa = 0.0f;
        for (int r = 0; r < R; r++) {
            sn += dblocks[pb_at(0, r, b, S + t, c, B, R, S, C)];
            sa += dblocks[pb_at(1, r, b, S + t, c, B, R, S, C)];
        }
        for (int half = 0; half < 2; half++)
            for (int r = 0; r < R; r++) sc += dblocks[pb_at(half, r, b, t, c, B, R, S, C)];
        dctx[idx] += sc;
        dstN[idx] += sn;
        dstA[idx] += sa;
        return;
    }
    const long j = idx - params;
    if (j >= (long)R * C) return;
    const int c = (int)(j % C), r = (int)(j / C);
    float sc = 0.0f, sn = 0.0f, sa = 0.0f;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < S; t++) {
            sc += dblocks[pb_at(0, r, b, t, c, B, R, S, C)];
            sn += dblocks[pb_at(0, r, b, S + t, c, B, R, S, C)];
            sa += dblocks[pb_at(1, r, b, S + t, c, B, R, S, C)];
        }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < S; t++) sc += dblocks[pb_at(1, r, b, t, c, B, R, S, C)];
    dzc[j] = sc;
    dzn[j] = sn;
    dza[j] = sa;
}
