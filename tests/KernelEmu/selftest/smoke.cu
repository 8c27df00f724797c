// smoke.cu: emulator self-test kernels (not part of the engine).
#include "../../../src/Kernels/common.cuh"

extern "C" __global__ void emutest_iota(float* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = (float)i;
}
