// adam.cu: one torch.optim.Adam step (single-tensor path, no weight decay, no amsgrad) over a flat parameter.
//
//   m = b1*m + (1-b1)*g;  v = b2*v + ((1-b2)*g)*g;  p += ((-step_size)*m) / (sqrt(v) / bc2_sqrt + eps)
// with 1-b1, 1-b2, step_size = lr / (1 - b1^t) and bc2_sqrt = sqrt(1 - b2^t) computed by the host in double
// and rounded once to float, as PyTorch computes them in Python floats (1.0f - 0.999f != (float)(1 - 0.999)). Shapes: param, m, v, grad [n] (any flat parameter).
// Gradient semantics: param, m and v are updated in place; grad is only read.
// CPU reference: AdamReference.Step.
//
// The operation order follows PyTorch's CPU kernels (mul_ then add_, addcmul as (s*a)*b, addcdiv as (s*a)/b,
// sqrt then divide then add eps); __fmul_rn/__fadd_rn
// keep NVRTC from contracting into FMAs, so the emulator (g++, no FMA) and the GPU give the same bits.
#include "common.cuh"

extern "C" __global__ void adam_step(float* param /* [n] */, float* m /* [n] */, float* v /* [n] */, const float* grad /* [n] */,
                                     long n, float beta1, float one_minus_beta1, float beta2, float one_minus_beta2, float eps,
                                     float step_size, float bc2_sqrt) {
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        const float g = grad[i];
        const float mi = __fadd_rn(__fmul_rn(m[i], beta1), __fmul_rn(one_minus_beta1, g));
        const float vi = __fadd_rn(__fmul_rn(v[i], beta2), __fmul_rn(__fmul_rn(one_minus_beta2, g), g));
        m[i] = mi;
        v[i] = vi;
        const float denom = __fadd_rn(__fdiv_rn(sqrtf(vi), bc2_sqrt), eps);
        param[i] = __fadd_rn(param[i], __fdiv_rn(__fmul_rn(-step_size, mi), denom));
    }
}
