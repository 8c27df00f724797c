// l2norm.cu: L2 normalisation of rows, forward and backward.
//
//   forward:  norm = sqrt(sum(x^2)) per row (saved), y = x / norm. No epsilon, as in the reference model:
//             a zero row gives NaN there too.
//   backward: dx = (dy - y * sum(dy*y)) / norm (overwritten); the Jacobian of x/|x| is (I - y y^T)/|x|.
// Shapes: x, y, dy, dx [rows, C]; norm [rows].
// CPU reference: RowReference.L2Normalize / L2NormalizeBackward.
// One block per row with block_sum.
#include "common.cuh"

extern "C" __global__ void l2norm_forward(float* y /* [rows,C] */, float* norm /* [rows] */, const float* x /* [rows,C] */, int rows, int c) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    if (row >= rows) return;
    const long long o = (long long)row * c;
    float s = 0.0f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) s += x[o + i] * x[o + i];
    const float n = sqrtf(block_sum(s, scratch));
    for (int i = threadIdx.x; i < c; i += blockDim.x) y[o + i] = x[o + i] / n;
    if (threadIdx.x == 0) norm[row] = n;
}

extern "C" __global__ void l2norm_backward(float* dx /* [rows,C] */, const float* dy /* [rows,C] */, const float* y /* [rows,C] */,
                                           const float* norm /* [rows] */, int rows, int c) {
    __shared__ float scratch[32];
    const int row = blockIdx.x;
    if (row >= rows) return;
    const long long o = (long long)row * c;
    float s = 0.0f;
    for (int i = threadIdx.x; i < c; i += blockDim.x) s += dy[o + i] * y[o + i];
    const float dot = block_sum(s, scratch);
    const float n = norm[row];
    for (int i = threadIdx.x; i < c; i += blockDim.x) dx[o + i] = (dy[o + i] - y[o + i] * dot) / n;
}
