// attention_bf16.cu: the softmax step of attention in the bf16 precision mode (inference only, no backward).
//
// The bf16 mode runs attention on tensor cores through cuBLAS, one chunk of (batch, head) pairs at a time
// (CudaBackend.AttentionBf16.cs does the orchestration):
//   S = Q Kᵀ              GemmBf16: q, k bf16, fp32 accumulation, S fp32 (unscaled)
//   P, lse = this kernel  x_j = scale · S_j, key j visible to query i iff !causal or j <= i,
//                         m = max_visible x_j, l = Σ_visible exp(x_j − m),
//                         P_j = bf16(exp(x_j − m) / l) for visible keys, 0 for masked ones; lse = m + log l
//   O = P V               GemmBf16: P, v bf16, fp32 accumulation, written into o's interleaved layout
// Shapes: s [rows, Nk] fp32 and p [rows, Nk] bf16 (backend scratch); lse [rows] is a contiguous run of
//         lse [B, H, Nq]. Row r is query q0 + r % nrows of its (b, h) pair (a chunk holds whole heads, or
//         nrows < Nq queries of one head starting at q0).
// Reference: BayesPfl.Engine.Backends.Cpu.AttentionBf16Reference.SoftmaxRows (same order of operations; only
//         the order of the fp32 sum l differs).
//
// One warp per row. Rows of up to ATT_SOFTMAX_CACHED_KEYS keys (every row of the model: 1370 vision tokens,
// 1369 RCA keys, 77 text tokens) are read from global memory once and kept in registers (ATT_SOFTMAX_PER_LANE
// values per lane, indices known at compile time so that they stay registers); S is the largest buffer of the
// bf16 step (ViT-L: 16·1370² fp32 per image and layer), so one read instead of three is most of the kernel's
// time. Longer rows take three passes over global memory (max, sum, write), recomputing the exponentials.
// Both paths do the same operations in the same order (a lane visits keys lane, lane+32, ... ascending), so
// they give the same bits. __fmul_rn keeps scale·S a rounded product (no FMA contraction into the subtraction
// of m), as the reference computes it. Masked keys get P = 0 so that the P·V GEMM can run over all Nk keys. A
// fully masked row cannot occur (causal implies Nq == Nk, so key 0 is always visible).
#include "common.cuh"

#define ATT_SOFTMAX_PER_LANE 48
#define ATT_SOFTMAX_CACHED_KEYS (ATT_SOFTMAX_PER_LANE * WARP_SIZE)  // 1536

// One row of at most ATT_SOFTMAX_CACHED_KEYS keys, read once into registers.
__device__ __forceinline__ void softmax_row_in_registers(bf16_t* pr, float* lse, const float* sr, int keys, int Nk, float scale) {
    const int lane = threadIdx.x % WARP_SIZE;
    float x[ATT_SOFTMAX_PER_LANE];
    float m = -INFINITY;
#pragma unroll
    for (int c = 0; c < ATT_SOFTMAX_PER_LANE; c++) {
        const int j = lane + c * WARP_SIZE;
        x[c] = j < keys ? __fmul_rn(sr[j], scale) : -INFINITY;
        m = fmaxf(m, x[c]);
    }
    m = warp_max(m);
    float l = 0.0f;
#pragma unroll
    for (int c = 0; c < ATT_SOFTMAX_PER_LANE; c++)
        if (lane + c * WARP_SIZE < keys) {
            x[c] = expf(x[c] - m);
            l += x[c];
        }
    l = warp_sum(l);
#pragma unroll
    for (int c = 0; c < ATT_SOFTMAX_PER_LANE; c++) {
        const int j = lane + c * WARP_SIZE;
        if (j < Nk) pr[j] = j < keys ? float_to_bf16(x[c] / l) : 0;
    }
    if (lane == 0) *lse = m + logf(l);
}

// One row of any length in three passes over global memory.
__device__ __forceinline__ void softmax_row_streamed(bf16_t* pr, float* lse, const float* sr, int keys, int Nk, float scale) {
    const int lane = threadIdx.x % WARP_SIZE;
    float m = -INFINITY;
    for (int j = lane; j < keys; j += WARP_SIZE) m = fmaxf(m, __fmul_rn(sr[j], scale));
    m = warp_max(m);
    float l = 0.0f;
    for (int j = lane; j < keys; j += WARP_SIZE) l += expf(__fmul_rn(sr[j], scale) - m);
    l = warp_sum(l);
    for (int j = lane; j < Nk; j += WARP_SIZE)
        pr[j] = j < keys ? float_to_bf16(expf(__fmul_rn(sr[j], scale) - m) / l) : 0;
    if (lane == 0) *lse = m + logf(l);
}

extern "C" __global__ void attention_softmax_forward_bf16(bf16_t* p,          // [rows, Nk]
                                                          float* lse,         // [rows]
                                                          const float* s,     // [rows, Nk]
                                                          int rows, int nrows, int q0, int Nk, int causal, float scale) {
    const long long row = (long long)blockIdx.x * (blockDim.x / WARP_SIZE) + threadIdx.x / WARP_SIZE;
    if (row >= rows) return;  // whole warps leave together: the shuffles below see full warps only
    const int keys = causal ? min(Nk, q0 + (int)(row % nrows) + 1) : Nk;
    if (Nk <= ATT_SOFTMAX_CACHED_KEYS)
        softmax_row_in_registers(p + row * Nk, lse + row, s + row * Nk, keys, Nk, scale);
    else
        softmax_row_streamed(p + row * Nk, lse + row, s + row * Nk, keys, Nk, scale);
}
