// planar_flow.cu: the prompt-flow family (Bayes-PFL spec 5), forward (inference): planar_flow_forward (below),
// flow_base_sample_forward (Encoder reparameterisation) and flow_prompt_blocks_forward (prompt assembly), each
// with its own header further down.
//
// planar_flow_forward: K sequential planar-flow steps per sample (spec 5.2).
// z = z0[r]; for k < K:  a[r,k] = w_k·z + b_k;  z += u_k·tanh(a[r,k]);
//                        logdet[r] += log(|1 + (1 − tanh²(a[r,k]))·(w_k·u_k)| + 1e-5);   zK[r] = z.
// Shapes: zK, z0 [R, D]; logdet [R] (OVERWRITTEN, sum over steps); a [R, K] (saved pre-activations);
//         u, w [P, K, D] and b [P, K] with P = R (amortised, sample r uses set r) or P = 1 (shared set).
// No invertibility constraint on u (spec 14.5): the |·| + 1e-5 keeps the log finite instead.
// Gradient: none here yet (training backward to follow).
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
