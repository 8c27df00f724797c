// linear.cu: the non-GEMM parts of the Linear layer; the GEMMs themselves go through cuBLAS
// (IGpu.SgemmStridedBatched, fp32, no TF32).
//
//   forward:  y[M,N] = x[M,K] · w[N,K]^T + bias[N]   -> linear_forward_fill_bias writes bias into every row of y,
//             then the GEMM runs with beta = 1 (the same order as the CPU path: bias first, products added).
//   backward: dbias[N] += sum over rows of dy[M,N]  -> linear_backward_bias (parameter grads accumulate).
//             dx and dw are GEMMs (dx overwritten, dw accumulated with beta = 1).
// Glossary: M rows (B*N tokens), K input width, N output width.
// CPU reference: GemmReference.Linear / LinearBackwardWeight (the fast CPU path is Sgemm).
//
// linear_backward_bias is a deterministic column reduction without atomics: a block owns 32 columns; its
// 32 x 8 threads stride over the rows (thread row ty takes rows ty, ty+8, ...), then the 8 partial sums of a
// column are added in a fixed order. Same result on every run, whatever the scheduling.
#include "common.cuh"

#define BIAS_COLS 32
#define BIAS_ROWS 8

extern "C" __global__ void linear_forward_fill_bias(float* y /* [M,N] */, const float* bias /* [N] */, int m, int n) {
    const long long total = (long long)m * n;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x)
        y[i] = bias[i % n];
}

// grid ((N+31)/32), block (32, 8)
extern "C" __global__ void linear_backward_bias(float* dbias /* [N] */, const float* dy /* [M,N] */, int m, int n) {
    __shared__ float partial[BIAS_ROWS][BIAS_COLS];
    const int col = blockIdx.x * BIAS_COLS + threadIdx.x;
    float s = 0.0f;
    if (col < n)
        for (int row = threadIdx.y; row < m; row += BIAS_ROWS) s += dy[(long long)row * n + col];
    partial[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && col < n) {
        float total = 0.0f;
        for (int r = 0; r < BIAS_ROWS; r++) total += partial[r][threadIdx.x];
        dbias[col] += total;
    }
}
