// attention.cu: multi-head attention, flash style (the Nq x Nk score matrix never reaches global memory).
//
// Forward:  S = scale · Q Kᵀ (+ causal mask: key j visible to query i iff j <= i), P = softmax_rows(S),
//           O = P V, lse_i = log Σ_j exp(S_ij).
// Backward: P recomputed as exp(S − lse), Δ_i = Σ_d dO_id O_id, dV = Pᵀ dO, dS = P ⊙ (dO Vᵀ − Δ),
//           dQ = scale · dS K, dK = scale · dSᵀ Q. dq, dk, dv are activation gradients: OVERWRITTEN.
// Shapes: q, o, dq, dout [B, Nq, H*D]; k, v, dk, dv [B, Nk, H*D]; head h owns columns h*D .. h*D+D-1;
//         lse [B, H, Nq]. D <= 32 * ATT_MAX_CHUNKS = 256.
// Reference: BayesPfl.Engine.Backends.Cpu.AttentionReference (Forward, Backward).
//
// Work split. A block serves one (b, h) and a group of "owned" rows: ATT_ROWS per warp. In the forward and
// dq kernels the owned rows are queries and the block streams key tiles through shared memory; in dkdv they
// are keys and the block streams query tiles. Each lane owns the head dims lane, lane+32, ... of the owned
// rows' accumulators (registers), and during score computation each lane takes one streamed row (a key, or
// a query in dkdv), so a dot product is one lane's sequential loop: no shuffles per score. Streamed tiles
// have `tile` <= 32 rows, padded to D+1 floats so that lanes reading different rows at the same d hit
// different banks. The launcher picks tile and warps so that dynamic shared memory stays <= 48 KiB (no
// opt-in attribute needed). Backward is deterministic: dk/dv are owned by the key-block kernel, dq by the
// query-block kernel, each summed in a fixed order; Δ is recomputed per tile from dO and O (D flops per
// row, cheaper than a third launch and a scratch buffer).
#include "common.cuh"

#define ATT_ROWS 4
#define ATT_MAX_CHUNKS 8

// Σ_d a[d] * b[d] for rows in shared memory.
__device__ __forceinline__ float att_dot(const float* a, const float* b, int D) {
    float s = 0.0f;
    for (int d = 0; d < D; d++) s += a[d] * b[d];
    return s;
}

// Copies rows [r0, r0 + count) of one head of x[.., rows, H*D] into shared memory with row pitch `pitch`;
// rows past `rows` are zero so that padded lanes compute finite garbage that the masks then drop.
__device__ __forceinline__ void att_load_rows(float* dst, int pitch, const float* x, long width, int r0, int count, int rows, int D) {
    for (int idx = threadIdx.x; idx < count * D; idx += blockDim.x) {
        const int r = idx / D, d = idx % D;
        dst[r * pitch + d] = r0 + r < rows ? x[(long)(r0 + r) * width + d] : 0.0f;
    }
}

extern "C" __global__ void attention_forward(float* o,          // [B, Nq, H*D]
                                             float* lse,        // [B, H, Nq]
                                             const float* q,    // [B, Nq, H*D]
                                             const float* k,    // [B, Nk, H*D]
                                             const float* v,    // [B, Nk, H*D]
                                             int B, int Nq, int Nk, int H, int D, int tile, int causal, float scale) {
    DYNAMIC_SMEM(float, smem);
    const int warps = blockDim.x / WARP_SIZE, warp = threadIdx.x / WARP_SIZE, lane = threadIdx.x % WARP_SIZE;
    const int bq = warps * ATT_ROWS, q0 = blockIdx.x * bq, h = blockIdx.y, b = blockIdx.z;
    const long width = (long)H * D;
    const float* qb = q + (long)b * Nq * width + (long)h * D;
    const float* kb = k + (long)b * Nk * width + (long)h * D;
    const float* vb = v + (long)b * Nk * width + (long)h * D;
    float* qs = smem;                     // [bq, D]
    float* ks = qs + bq * D;              // [tile, D+1]
    float* vs = ks + tile * (D + 1);      // [tile, D]
    float* ps = vs + tile * D + warp * ATT_ROWS * tile;  // this warp's [ATT_ROWS, tile]
    att_load_rows(qs, D, qb, width, q0, bq, Nq, D);

    float m[ATT_ROWS], l[ATT_ROWS], acc[ATT_ROWS][ATT_MAX_CHUNKS];
    for (int r = 0; r < ATT_ROWS; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;  // this lane's share of the row sum; reduced over the warp at the end
        for (int c = 0; c < ATT_MAX_CHUNKS; c++) acc[r][c] = 0.0f;
    }
    const int kend = causal ? min(Nk, q0 + bq) : Nk;  // later keys are masked for every owned row
    for (int k0 = 0; k0 < kend; k0 += tile) {
        const int jn = min(tile, kend - k0);
        __syncthreads();  // the previous tile is consumed (and, the first time, qs is written)
        att_load_rows(ks, D + 1, kb, width, k0, jn, Nk, D);
        att_load_rows(vs, D, vb, width, k0, jn, Nk, D);
        __syncthreads();
        const int key = k0 + lane;
        for (int r = 0; r < ATT_ROWS; r++) {
            const int i = q0 + warp * ATT_ROWS + r;
            const bool visible = lane < jn && (!causal || key <= i);
            const float s = visible ? att_dot(qs + (warp * ATT_ROWS + r) * D, ks + lane * (D + 1), D) * scale : -INFINITY;
            const float mn = fmaxf(m[r], warp_max(s));
            // mn is -inf only while no key was visible yet: then nothing has been accumulated to rescale.
            const float alpha = mn == -INFINITY ? 1.0f : expf(m[r] - mn);
            const float p = visible ? expf(s - mn) : 0.0f;
            m[r] = mn;
            l[r] = l[r] * alpha + p;
            for (int c = 0; c < ATT_MAX_CHUNKS; c++) acc[r][c] *= alpha;
            if (lane < tile) ps[r * tile + lane] = p;
        }
        __syncwarp();
        for (int j = 0; j < jn; j++)
            for (int r = 0; r < ATT_ROWS; r++) {
                const float p = ps[r * tile + j];
                for (int c = 0; c < ATT_MAX_CHUNKS; c++)
                    if (lane + c * WARP_SIZE < D) acc[r][c] += p * vs[j * D + lane + c * WARP_SIZE];
            }
    }
    for (int r = 0; r < ATT_ROWS; r++) {
        const float sum = warp_sum(l[r]);
        const int i = q0 + warp * ATT_ROWS + r;
        if (i >= Nq) continue;
        float* orow = o + ((long)b * Nq + i) * width + (long)h * D;
        for (int c = 0; c < ATT_MAX_CHUNKS; c++)
            if (lane + c * WARP_SIZE < D) orow[lane + c * WARP_SIZE] = acc[r][c] / sum;
        if (lane == 0) lse[((long)b * H + h) * Nq + i] = m[r] + logf(sum);
    }
}

// Δ_i = Σ_d dO_id O_id for one row, reduced over the warp (each lane takes dims lane, lane+32, ...).
__device__ __forceinline__ float att_delta(const float* dorow, const float* orow, int D) {
    float s = 0.0f;
    for (int d = threadIdx.x % WARP_SIZE; d < D; d += WARP_SIZE) s += dorow[d] * orow[d];
    return warp_sum(s);
}

extern "C" __global__ void attention_backward_dq(float* dq,          // [B, Nq, H*D]
                                                 const float* dout,  // [B, Nq, H*D]
                                                 const float* q,     // [B, Nq, H*D]
                                                 const float* k,     // [B, Nk, H*D]
                                                 const float* v,     // [B, Nk, H*D]
                                                 const float* o,     // [B, Nq, H*D]
                                                 const float* lse,   // [B, H, Nq]
                                                 int B, int Nq, int Nk, int H, int D, int tile, int causal, float scale) {
    DYNAMIC_SMEM(float, smem);
    const int warps = blockDim.x / WARP_SIZE, warp = threadIdx.x / WARP_SIZE, lane = threadIdx.x % WARP_SIZE;
    const int bq = warps * ATT_ROWS, q0 = blockIdx.x * bq, h = blockIdx.y, b = blockIdx.z;
    const long width = (long)H * D, head = (long)h * D;
    const float* kb = k + (long)b * Nk * width + head;
    const float* vb = v + (long)b * Nk * width + head;
    float* qs = smem;                      // [bq, D]
    float* dos = qs + bq * D;              // [bq, D]
    float* ks = dos + bq * D;              // [tile, D+1]
    float* vs = ks + tile * (D + 1);       // [tile, D+1]
    float* dss = vs + tile * (D + 1) + warp * ATT_ROWS * tile;  // this warp's dS [ATT_ROWS, tile]
    att_load_rows(qs, D, q + (long)b * Nq * width + head, width, q0, bq, Nq, D);
    att_load_rows(dos, D, dout + (long)b * Nq * width + head, width, q0, bq, Nq, D);
    __syncthreads();

    float rowLse[ATT_ROWS], delta[ATT_ROWS], acc[ATT_ROWS][ATT_MAX_CHUNKS];
    for (int r = 0; r < ATT_ROWS; r++) {
        const int i = q0 + warp * ATT_ROWS + r;
        const float* orow = o + ((long)b * Nq + min(i, Nq - 1)) * width + head;
        delta[r] = att_delta(dos + (warp * ATT_ROWS + r) * D, orow, D);  // rows past Nq: dO is 0 there
        rowLse[r] = i < Nq ? lse[((long)b * H + h) * Nq + i] : 0.0f;
        for (int c = 0; c < ATT_MAX_CHUNKS; c++) acc[r][c] = 0.0f;
    }
    const int kend = causal ? min(Nk, q0 + bq) : Nk;
    for (int k0 = 0; k0 < kend; k0 += tile) {
        const int jn = min(tile, kend - k0);
        __syncthreads();
        att_load_rows(ks, D + 1, kb, width, k0, jn, Nk, D);
        att_load_rows(vs, D + 1, vb, width, k0, jn, Nk, D);
        __syncthreads();
        for (int r = 0; r < ATT_ROWS; r++) {
            const int i = q0 + warp * ATT_ROWS + r;
            const bool visible = i < Nq && lane < jn && (!causal || k0 + lane <= i);
            float ds = 0.0f;
            if (visible) {
                const float p = expf(att_dot(qs + (warp * ATT_ROWS + r) * D, ks + lane * (D + 1), D) * scale - rowLse[r]);
                ds = p * (att_dot(dos + (warp * ATT_ROWS + r) * D, vs + lane * (D + 1), D) - delta[r]);
            }
            if (lane < tile) dss[r * tile + lane] = ds;
        }
        __syncwarp();
        for (int j = 0; j < jn; j++)
            for (int r = 0; r < ATT_ROWS; r++) {
                const float ds = dss[r * tile + j];
                for (int c = 0; c < ATT_MAX_CHUNKS; c++)
                    if (lane + c * WARP_SIZE < D) acc[r][c] += ds * ks[j * (D + 1) + lane + c * WARP_SIZE];
            }
    }
    for (int r = 0; r < ATT_ROWS; r++) {
        const int i = q0 + warp * ATT_ROWS + r;
        if (i >= Nq) continue;
        float* row = dq + ((long)b * Nq + i) * width + head;
        for (int c = 0; c < ATT_MAX_CHUNKS; c++)
            if (lane + c * WARP_SIZE < D) row[lane + c * WARP_SIZE] = acc[r][c] * scale;
    }
}

extern "C" __global__ void attention_backward_dkdv(float* dk,          // [B, Nk, H*D]
                                                   float* dv,          // [B, Nk, H*D]
                                                   const float* dout,  // [B, Nq, H*D]
                                                   const float* q,     // [B, Nq, H*D]
                                                   const float* k,     // [B, Nk, H*D]
                                                   const float* v,     // [B, Nk, H*D]
                                                   const float* o,     // [B, Nq, H*D]
                                                   const float* lse,   // [B, H, Nq]
                                                   int B, int Nq, int Nk, int H, int D, int tile, int causal, float scale) {
    DYNAMIC_SMEM(float, smem);
    const int warps = blockDim.x / WARP_SIZE, warp = threadIdx.x / WARP_SIZE, lane = threadIdx.x % WARP_SIZE;
    const int bk = warps * ATT_ROWS, j0 = blockIdx.x * bk, h = blockIdx.y, b = blockIdx.z;
    const long width = (long)H * D, head = (long)h * D;
    const float* qb = q + (long)b * Nq * width + head;
    const float* dob = dout + (long)b * Nq * width + head;
    const float* ob = o + (long)b * Nq * width + head;
    float* ks = smem;                       // [bk, D]
    float* vs = ks + bk * D;                // [bk, D]
    float* qs = vs + bk * D;                // [tile, D+1]
    float* dos = qs + tile * (D + 1);       // [tile, D+1]
    float* stat = dos + tile * (D + 1);     // lse [tile], then Δ [tile]
    float* pss = stat + 2 * tile + warp * 2 * ATT_ROWS * tile;  // this warp's P then dS, [ATT_ROWS, tile] each
    float* dss = pss + ATT_ROWS * tile;
    att_load_rows(ks, D, k + (long)b * Nk * width + head, width, j0, bk, Nk, D);
    att_load_rows(vs, D, v + (long)b * Nk * width + head, width, j0, bk, Nk, D);

    float dka[ATT_ROWS][ATT_MAX_CHUNKS], dva[ATT_ROWS][ATT_MAX_CHUNKS];
    for (int r = 0; r < ATT_ROWS; r++)
        for (int c = 0; c < ATT_MAX_CHUNKS; c++) dka[r][c] = dva[r][c] = 0.0f;
    // Under the causal mask no query before j0 sees a key of this block.
    for (int i0 = causal ? j0 / tile * tile : 0; i0 < Nq; i0 += tile) {
        const int in = min(tile, Nq - i0);
        __syncthreads();
        att_load_rows(qs, D + 1, qb, width, i0, in, Nq, D);
        att_load_rows(dos, D + 1, dob, width, i0, in, Nq, D);
        __syncthreads();
        for (int ii = warp; ii < in; ii += warps) {
            const float d = att_delta(dos + ii * (D + 1), ob + (long)(i0 + ii) * width, D);
            if (lane == 0) {
                stat[ii] = lse[((long)b * H + h) * Nq + i0 + ii];
                stat[tile + ii] = d;
            }
        }
        __syncthreads();
        const int i = i0 + lane;
        for (int r = 0; r < ATT_ROWS; r++) {
            const int j = j0 + warp * ATT_ROWS + r;
            const bool visible = lane < in && j < Nk && (!causal || j <= i);
            float p = 0.0f, ds = 0.0f;
            if (visible) {
                p = expf(att_dot(qs + lane * (D + 1), ks + (warp * ATT_ROWS + r) * D, D) * scale - stat[lane]);
                ds = p * (att_dot(dos + lane * (D + 1), vs + (warp * ATT_ROWS + r) * D, D) - stat[tile + lane]);
            }
            if (lane < tile) {
                pss[r * tile + lane] = p;
                dss[r * tile + lane] = ds;
            }
        }
        __syncwarp();
        for (int ii = 0; ii < in; ii++)
            for (int r = 0; r < ATT_ROWS; r++) {
                const float p = pss[r * tile + ii], ds = dss[r * tile + ii];
                for (int c = 0; c < ATT_MAX_CHUNKS; c++)
                    if (lane + c * WARP_SIZE < D) {
                        dva[r][c] += p * dos[ii * (D + 1) + lane + c * WARP_SIZE];
                        dka[r][c] += ds * qs[ii * (D + 1) + lane + c * WARP_SIZE];
                    }
            }
    }
    for (int r = 0; r < ATT_ROWS; r++) {
        const int j = j0 + warp * ATT_ROWS + r;
        if (j >= Nk) continue;
        const long at = ((long)b * Nk + j) * width + head;
        for (int c = 0; c < ATT_MAX_CHUNKS; c++)
            if (lane + c * WARP_SIZE < D) {
                dk[at + lane + c * WARP_SIZE] = dka[r][c] * scale;
                dv[at + lane + c * WARP_SIZE] = dva[r][c];
            }
    }
}
