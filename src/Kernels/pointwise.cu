// pointwise.cu: element-wise ops, forward and backward (activation grads overwrite dx).
//
//   gelu      kind 0 (exact): y = x*Phi(x) = 0.5*x*erfc(-x/sqrt2),  dy/dx = Phi(x) + x*phi(x)
//             kind 1 (quick): y = x*s, s = sigmoid(1.702x),          dy/dx = s + 1.702*x*s*(1-s)
//   add       y = a + b (y may alias a or b: each element is read before it is written, by the same thread)
//   softplus  y = log1p(exp(x)), and x above 20 (PyTorch's threshold);  dx = dy*sigmoid(x), dy above 20
//   tanh      y = tanh(x);  dx = dy*(1 - y^2) from the saved output
// Shapes: every tensor [n] (any shape, flattened).
// CPU reference: PointwiseReference.<Op> / <Op>Backward.
//
// Grid-stride loops: the launcher caps the grid, so one launch covers any n (64-bit: `long long`, which is
// 64 bits under every host ABI, unlike `long`). The exact GELU uses erfcf of
// -x/sqrt2 rather than 1+erff(x/sqrt2): the same value, but without cancellation in the negative tail.
#include "common.cuh"

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f
#define QUICK_GELU_ALPHA 1.702f
#define SOFTPLUS_THRESHOLD 20.0f

__device__ __forceinline__ float sigmoidf_(float z) { return 1.0f / (1.0f + expf(-z)); }

extern "C" __global__ void gelu_forward(float* y /* [n] */, const float* x /* [n] */, long long n, int kind) {
    GRID_STRIDE(i, n) {
        const float v = x[i];
        y[i] = kind == 0 ? 0.5f * v * erfcf(-v * INV_SQRT2) : v * sigmoidf_(QUICK_GELU_ALPHA * v);
    }
}

extern "C" __global__ void gelu_backward(float* dx /* [n] */, const float* dy /* [n] */, const float* x /* [n] */, long long n, int kind) {
    GRID_STRIDE(i, n) {
        const float v = x[i];
        float d;
        if (kind == 0) {
            d = 0.5f * erfcf(-v * INV_SQRT2) + v * INV_SQRT_2PI * expf(-0.5f * v * v);
        } else {
            const float s = sigmoidf_(QUICK_GELU_ALPHA * v);
            d = s + QUICK_GELU_ALPHA * v * s * (1.0f - s);
        }
        dx[i] = dy[i] * d;
    }
}

extern "C" __global__ void add_forward(float* y /* [n] */, const float* a /* [n] */, const float* b /* [n] */, long long n) {
    GRID_STRIDE(i, n) y[i] = a[i] + b[i];
}

extern "C" __global__ void softplus_forward(float* y /* [n] */, const float* x /* [n] */, long long n) {
    GRID_STRIDE(i, n) {
        const float v = x[i];
        y[i] = v > SOFTPLUS_THRESHOLD ? v : log1pf(expf(v));
    }
}

extern "C" __global__ void softplus_backward(float* dx /* [n] */, const float* dy /* [n] */, const float* x /* [n] */, long long n) {
    GRID_STRIDE(i, n) {
        const float v = x[i];
        const float e = expf(v);
        dx[i] = v > SOFTPLUS_THRESHOLD ? dy[i] : dy[i] * e / (e + 1.0f);
    }
}

extern "C" __global__ void tanh_forward(float* y /* [n] */, const float* x /* [n] */, long long n) {
    GRID_STRIDE(i, n) y[i] = tanhf(x[i]);
}

extern "C" __global__ void tanh_backward(float* dx /* [n] */, const float* dy /* [n] */, const float* y /* [n] */, long long n) {
    GRID_STRIDE(i, n) {
        const float v = y[i];
        dx[i] = dy[i] * (1.0f - v * v);
    }
}
