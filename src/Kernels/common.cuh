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

// Grid-stride loop over n items (64-bit: `long long` is 64 bits under every host ABI, unlike `long`), so that a
// launcher may cap the grid and one launch still covers any n.
#define GRID_STRIDE(i, n) for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

// bfloat16, our own (no cuda_bf16.h: see the top): storage is the top 16 bits of an fp32. These two functions match
// the host's Bf16.FromFloat / Bf16.ToFloat (src/Engine/Tensors/Bf16.cs) bit for bit; the cast tests check it.
typedef unsigned short bf16_t;

// Exact: a bf16 is an fp32 whose low 16 bits are zero.
__device__ __forceinline__ float bf16_to_float(bf16_t b) { return __uint_as_float((unsigned)b << 16); }

// Round to nearest, ties to even: add 0x7fff plus the lowest kept bit, then truncate; a carry into the exponent
// gives the next binade or ±Inf, as IEEE rounding does. A NaN would round to Inf (or lose its payload), so it keeps
// its sign and top payload bits with the quiet bit forced. Bit tests, not isnan: immune to fast-math flags.
__device__ __forceinline__ bf16_t float_to_bf16(float f) {
    const unsigned bits = __float_as_uint(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((bits >> 16) | 0x40u);
    return (bf16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

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
