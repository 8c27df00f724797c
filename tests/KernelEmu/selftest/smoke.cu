// smoke.cu: emulator self-test kernels for launch plumbing (not part of the engine; see tests/BayesPfl.Tests/Emu).
#include "../../../src/Kernels/common.cuh"

// out[i] = i. The cheapest kernel there is: the emulator's cost per CUDA thread is measured with it.
extern "C" __global__ void emutest_iota(float* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = (float)i;
}

// One int per CUDA thread of a 3D grid of 3D blocks: out[global linear id] = a code of all six coordinates,
// so the test sees every thread exactly once with the right indices. The scalars check argument order.
extern "C" __global__ void emutest_grid_index(int* out, int tag, float scale, long long offset) {
    const int bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    const int tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const int id = bx * (blockDim.x * blockDim.y * blockDim.z) + tx;
    out[id + offset] = tag + (int)scale * (((((blockIdx.z * 8 + blockIdx.y) * 8 + blockIdx.x) * 8 + threadIdx.z) * 8 + threadIdx.y) * 8 + threadIdx.x);
}

// A local array of 256 floats per thread (lives on the fiber stack): out[t] = sum_j a[(j * 7 + t) % 256] with a[j] = j + t.
extern "C" __global__ void emutest_local_array(float* out, int n) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n) return;
    float a[256];
    for (int j = 0; j < 256; j++) a[j] = (float)(j + t);
    __syncthreads();  // (all threads reach it: n is a multiple of the block in the test) keeps many stacks alive at once
    float s = 0.0f;
    for (int j = 0; j < 256; j++) s += a[(j * 7 + t) % 256];
    out[t] = s;
}

// Writes one float past the end of out (thread 0 only): the guard bytes must catch it.
extern "C" __global__ void emutest_write_past_end(float* out, int n) {
    if (threadIdx.x == 0) out[n] = 1.0f;
}

// Half of the block returns before a __syncthreads the other half waits at: the emulator must report the
// divergence instead of hanging.
extern "C" __global__ void emutest_divergent_sync(float* out) {
    if (threadIdx.x < 16) return;
    __syncthreads();
    out[threadIdx.x] = 1.0f;
}

// Lanes 0..15 shuffle with the full mask while lanes 16..31 have exited: reported, not hung.
extern "C" __global__ void emutest_divergent_shfl(float* out) {
    if (threadIdx.x >= 16) return;
    out[threadIdx.x] = __shfl_xor_sync(FULL_MASK, (float)threadIdx.x, 1);
}

// Reads the dynamic shared memory before writing it (the emulator fills it with 0xFF bytes: NaN), then
// reverses in[] through it: first[t] = smem[t] as found, out[t] = in[n - 1 - t].
extern "C" __global__ void emutest_dynamic_smem(float* out, float* first, const float* in, int n) {
    DYNAMIC_SMEM(float, smem);
    const int t = threadIdx.x;
    if (t < n) first[t] = smem[t];
    __syncthreads();
    if (t < n) smem[t] = in[t];
    __syncthreads();
    if (t < n) out[t] = smem[n - 1 - t];
}

#ifndef KERNEL_EMU
// A GPU-only variant (inline PTX): the emulator registers its name but cannot run it.
extern "C" __global__ void emutest_gpu_only(float* out) {
    float v;
    asm volatile("mov.f32 %0, 1.0;" : "=f"(v));
    out[threadIdx.x] = v;
}
#endif

// Writes one float past the dynamic shared memory of n floats: reported after the block.
extern "C" __global__ void emutest_smem_overflow(int n) {
    DYNAMIC_SMEM(float, smem);
    if (threadIdx.x == 0) smem[n] = 0.0f;
}

// Reads one float past the end of in: the guard reads as NaN.
extern "C" __global__ void emutest_read_past_end(float* out, const float* in, int n) {
    out[0] = in[n];
}

// 64 KiB of locals per thread: more than the default fiber stack; runs once the stack is raised.
extern "C" __global__ void emutest_big_local(float* out, int n) {
    volatile float a[16384];
    for (int j = 0; j < 16384; j++) a[j] = (float)(j % n);
    out[threadIdx.x] = a[16383 - threadIdx.x];
}
