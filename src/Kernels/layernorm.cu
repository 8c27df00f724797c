// layernorm.cu: LayerNorm over the last dim, forward and backward.
//
//   forward:  mean = sum(x)/C, var = sum((x-mean)^2)/C (two passes, biased as in PyTorch),
//             rstd = 1/sqrt(var+eps), y = (x-mean)*rstd*gamma + beta. mean, rstd [rows] saved for backward.
//   backward: xhat = (x-mean)*rstd, g = dy*gamma,
//             dx = rstd*(g - mean(g) - xhat*mean(g*xhat))   (overwritten)
//             dgamma += sum_rows dy*xhat, dbeta += sum_rows dy (accumulated).
// Shapes: x, y, dy, dx [rows, C]; gamma, beta, dgamma, dbeta [C]; mean, rstd [rows].
// CPU reference: LayerNormReference.Forward / Backward.
//
// One block per row (blockDim a multiple of 32, <= 1024) with block_sum; the row is re-read from global memory
// in each pass rather than cached in shared memory, which keeps the kernel correct for any C.
// dgamma/dbeta are a deterministic two-stage reduction over rows, no atomics: stage 1 (..._dgamma_partial)
// gives each block 32 columns x one chunk of rows and writes one partial sum per (chunk, column); stage 2
// (..._dgamma_finish) adds the chunks of each column in order into dgamma/dbeta.
#include "common.cuh"

#define LN_COLS 32
#define LN_ROWS 8

extern "C" __global__ void layernorm_forward(float* y /* [rows,C] */, float* mean /* [rows] */, float* rstd /* [rows] */,
                                             const float* x /* [rows,C] */, const float* gamma /* [C] */, const float* beta /* [C] */,
                                             int rows, int c, float eps) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    if (row >= rows) return;
    const float* xr = x + (long long)row * c;
    float s = 0.0f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) s += xr[i];
    const float mu = block_sum(s, scratch) / c;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        const float d = xr[i] - mu;
        ss += d * d;
    }
    const float rs = 1.0f / sqrtf(block_sum(ss, scratch) / c + eps);
    float* yr = y + (long long)row * c;
    for (int i = threadIdx.x; i < c; i += blockDim.x) yr[i] = (xr[i] - mu) * rs * gamma[i] + beta[i];
    if (threadIdx.x == 0) {
        mean[row] = mu;
        rstd[row] = rs;
    }
}

extern "C" __global__ void layernorm_backward_dx(float* dx /* [rows,C] */, const float* dy /* [rows,C] */, const float* x /* [rows,C] */,
                                                 const float* mean /* [rows] */, const float* rstd /* [rows] */, const float* gamma /* [C] */,
                                                 int rows, int c) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    if (row >= rows) return;
    const long long o = (long long)row * c;
    const float mu = mean[row], rs = rstd[row];
    float sg = 0.0f, sgx = 0.0f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        const float g = dy[o + i] * gamma[i];
        sg += g;
        sgx += g * (x[o + i] - mu) * rs;
    }
    const float mean_g = block_sum(sg, scratch) / c;
    const float mean_gx = block_sum(sgx, scratch) / c;
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        const float xhat = (x[o + i] - mu) * rs;
        dx[o + i] = rs * (dy[o + i] * gamma[i] - mean_g - xhat * mean_gx);
    }
}

// grid ((C+31)/32, chunks), block (32, 8). partial [2, chunks, C]: dgamma parts first, then dbeta parts.
extern "C" __global__ void layernorm_backward_dgamma_partial(float* partial, const float* dy /* [rows,C] */, const float* x /* [rows,C] */,
                                                             const float* mean /* [rows] */, const float* rstd /* [rows] */,
                                                             int rows, int c, int rows_per_chunk) {
    __shared__ float pg[LN_ROWS][LN_COLS];
    __shared__ float pb[LN_ROWS][LN_COLS];
    const int col = blockIdx.x * LN_COLS + threadIdx.x;
    const int chunk = blockIdx.y, chunks = gridDim.y;
    const int r0 = chunk * rows_per_chunk;
    const int r1 = min(rows, r0 + rows_per_chunk);
    float sg = 0.0f, sb = 0.0f;
    if (col < c)
        for (int row = r0 + threadIdx.y; row < r1; row += LN_ROWS) {
            const float d = dy[(long long)row * c + col];
            sg += d * (x[(long long)row * c + col] - mean[row]) * rstd[row];
            sb += d;
        }
    pg[threadIdx.y][threadIdx.x] = sg;
    pb[threadIdx.y][threadIdx.x] = sb;
    __syncthreads();
    if (threadIdx.y == 0 && col < c) {
        float tg = 0.0f, tb = 0.0f;
        for (int r = 0; r < LN_ROWS; r++) {
            tg += pg[r][threadIdx.x];
            tb += pb[r][threadIdx.x];
        }
        partial[(long long)chunk * c + col] = tg;
        partial[((long long)chunks + chunk) * c + col] = tb;
    }
}

extern "C" __global__ void layernorm_backward_dgamma_finish(float* dgamma /* [C] */, float* dbeta /* [C] */, const float* partial /* [2,chunks,C] */,
                                                            int chunks, int c) {
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= c) return;
    float tg = 0.0f, tb = 0.0f;
    for (int k = 0; k < chunks; k++) {
        tg += partial[(long long)k * c + col];
        tb += partial[((long long)chunks + k) * c + col];
    }
    dgamma[col] += tg;
    dbeta[col] += tb;
}
