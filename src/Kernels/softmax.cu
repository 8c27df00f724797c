// softmax.cu: softmax over the last dim, forward and backward.
//
//   forward:  y = exp(x - max) / sum(exp(x - max)) per row (max-subtracted, so no overflow).
//   backward: dx = y * (dy - sum(dy*y)) per row (overwritten).
// Shapes: x, y, dy, dx [rows, C].
// CPU reference: RowReference.Softmax / SoftmaxBackward.
//
// One block per row with block_max/block_sum; exp(x - max) is written to y and rescaled in a third pass,
// so the row never has to fit in shared memory.
#include "common.cuh"

extern "C" __global__ void softmax_forward(float* y /* [rows,C] */, const float* x /* [rows,C] */, int rows, int c) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    if (row >= rows) return;
    const float* xr = x + (long long)row * c;
    float* yr = y + (long long)row * c;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < c; i += blockDim.x) m = fmaxf(m, xr[i]);
    m = block_max(m, scratch);
    float s = 0.0f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) {
        const float e = expf(xr[i] - m);
        yr[i] = e;
        s += e;
    }
    const float inv = 1.0f / block_sum(s, scratch);
    for (int i = threadIdx.x; i < c; i += blockDim.x) yr[i] *= inv;
}

extern "C" __global__ void softmax_backward(float* dx /* [rows,C] */, const float* dy /* [rows,C] */, const float* y /* [rows,C] */, int rows, int c) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    if (row >= rows) return;
    const long long o = (long long)row * c;
    float s = 0.0f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) s += dy[o + i] * y[o + i];
    const float dot = block_sum(s, scratch);
    for (int i = threadIdx.x; i < c; i += blockDim.x) dx[o + i] = y[o + i] * (dy[o + i] - dot);
}
