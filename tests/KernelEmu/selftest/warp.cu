// warp.cu: emulator self-tests for warp intrinsics. Every thread contributes v = 100 * threadIdx.x + 0.5
// (float) or the same as int; the test recomputes what each lane must get.
#include "../../../src/Kernels/common.cuh"

// mode 0 idx, 1 up, 2 down, 3 xor; arg is the lane / delta / lane mask; width divides 32.
extern "C" __global__ void emutest_shfl(float* fout, int* iout, double* dout, int mode, int arg, int width) {
    const int t = threadIdx.x;
    const float f = 100.0f * t + 0.5f;
    const int i = 100 * t + 1;
    const double d = 100.0 * t + 0.25;
    float fr;
    int ir;
    double dr;
    if (mode == 0) fr = __shfl_sync(FULL_MASK, f, arg, width), ir = __shfl_sync(FULL_MASK, i, arg, width), dr = __shfl_sync(FULL_MASK, d, arg, width);
    else if (mode == 1) fr = __shfl_up_sync(FULL_MASK, f, arg, width), ir = __shfl_up_sync(FULL_MASK, i, arg, width), dr = __shfl_up_sync(FULL_MASK, d, arg, width);
    else if (mode == 2) fr = __shfl_down_sync(FULL_MASK, f, arg, width), ir = __shfl_down_sync(FULL_MASK, i, arg, width), dr = __shfl_down_sync(FULL_MASK, d, arg, width);
    else fr = __shfl_xor_sync(FULL_MASK, f, arg, width), ir = __shfl_xor_sync(FULL_MASK, i, arg, width), dr = __shfl_xor_sync(FULL_MASK, d, arg, width);
    fout[t] = fr, iout[t] = ir, dout[t] = dr;
}

// Per warp: ballot/any/all of (threadIdx.x % k == 0), and lanes 0..15 vs 16..31 syncing on disjoint half masks.
extern "C" __global__ void emutest_vote(unsigned* ballot, int* any, int* all, float* halves, int k) {
    const int t = threadIdx.x, lane = t % 32;
    const int p = t % k == 0;
    ballot[t] = __ballot_sync(FULL_MASK, p);
    any[t] = __any_sync(FULL_MASK, p);
    all[t] = __all_sync(FULL_MASK, p);
    const unsigned half = lane < 16 ? 0x0000ffffu : 0xffff0000u;
    float v = (float)t;
    for (int o = 8; o > 0; o >>= 1) v += __shfl_xor_sync(half, v, o, 16);
    __syncwarp();
    halves[t] = v;
}

// warp_sum / warp_max of common.cuh, one warp per row of x.
extern "C" __global__ void emutest_warp_reduce(float* sums, float* maxes, const float* x, int cols) {
    const float* row = x + (long long)blockIdx.x * cols;
    float s = 0.0f, m = -INFINITY;
    for (int c = threadIdx.x; c < cols; c += 32) s += row[c], m = fmaxf(m, row[c]);
    s = warp_sum(s);
    m = warp_max(m);
    if (threadIdx.x == 0) sums[blockIdx.x] = s, maxes[blockIdx.x] = m;
}

// Half the warp shuffles while the other half votes, both naming the full warp: undefined on the GPU, an
// error here.
extern "C" __global__ void emutest_mixed_warp_ops(unsigned* out) {
    const unsigned t = threadIdx.x;
    out[t] = t < 16 ? __shfl_xor_sync(FULL_MASK, t, 1) : __ballot_sync(FULL_MASK, 1);
}
