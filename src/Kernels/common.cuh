// common.cuh: helpers shared by every kernel file.
//
// These sources are compiled three ways: by NVRTC at run time (no CUDA toolkit headers exist there, not even
// cuda_fp16.h), by the NVRTC compile check in CI (sm_80, sm_90), and by g++ for the kernel emulator
// (tests/KernelEmu), which force-includes its own header that maps the CUDA built-ins to the CPU and
// defines KERNEL_EMU. So: only CUDA built-ins, extern "C" entry points, no libc, and dynamic shared memory
// only through DYNAMIC_SMEM.
#pragma once

#ifndef DYNAMIC_SMEM
// Dynamic shared memory. The emulator defines its own version (per-worker storage).
#define DYNAMIC_SMEM(type, name) extern __shared__ __align__(16) type name[]
#endif

#ifndef INFINITY
// NVRTC offers no <math.h>; the emulator's g++ build has it (and so already defines INFINITY).
#define INFINITY __int_as_float(0x7f800000)
#endif

#define FULL_MASK 0xffffffffu
#define WARP_SIZE 32

__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = WARP_SIZE / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(FULL_MASK, v, offset);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int offset = WARP_SIZE / 2; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, offset));
    return v;
}

// Sum over the whole block; every thread gets the result. `scratch` holds one float per warp (<= 32).
// blockDim.x must be a multiple of 32. Ends with a barrier, so scratch may be reused right after.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, warps = blockDim.x / WARP_SIZE;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = lane < warps ? scratch[lane] : 0.0f;
    total = warp_sum(total);
    __syncthreads();
    return total;
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    const int lane = threadIdx.x % WARP_SIZE, warp = threadIdx.x / WARP_SIZE, warps = blockDim.x / WARP_SIZE;
    v = warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float m = lane < warps ? scratch[lane] : -INFINITY;
    m = warp_max(m);
    __syncthreads();
    return m;
}
