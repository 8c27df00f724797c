// sync.cu: emulator self-tests for __syncthreads, static shared memory, block reductions and atomics.
#include "../../../src/Kernels/common.cuh"

// Hillis-Steele inclusive prefix sum of one block through a static __shared__ array. Each of the log2(n)
// rounds needs __syncthreads to order reads before writes across warps; a broken barrier gives wrong sums.
extern "C" __global__ __launch_bounds__(1024) void emutest_scan(float* out, const float* in) {
    __shared__ float buf[2][1024];
    const int t = threadIdx.x, n = blockDim.x;
    const float* src = in + blockIdx.x * n;
    int cur = 0;
    buf[0][t] = src[t];
    __syncthreads();
    for (int d = 1; d < n; d <<= 1) {
        buf[cur ^ 1][t] = buf[cur][t] + (t >= d ? buf[cur][t - d] : 0.0f);
        cur ^= 1;
        __syncthreads();
    }
    out[blockIdx.x * n + t] = buf[cur][t];
}

// block_sum and block_max of common.cuh: one block per row of x (rows x cols), strided over the columns.
extern "C" __global__ void emutest_block_reduce(float* sums, float* maxes, const float* x, int cols) {
    __shared__ float scratch[32];
    const float* row = x + (long long)blockIdx.x * cols;
    float s = 0.0f, m = -INFINITY;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += row[c], m = fmaxf(m, row[c]);
    s = block_sum(s, scratch);
    m = block_max(m, scratch);
    if (threadIdx.x == 0) sums[blockIdx.x] = s, maxes[blockIdx.x] = m;
}

// __syncthreads_count/_and/_or over the predicate (threadIdx.x % k == 0).
extern "C" __global__ void emutest_sync_flavours(int* out, int k) {
    const int p = threadIdx.x % k == 0;
    const int c = __syncthreads_count(p), a = __syncthreads_and(p), o = __syncthreads_or(p);
    if (threadIdx.x == 0) out[0] = c, out[1] = a, out[2] = o;
}

// Atomics across blocks (which run on different worker threads): a counter, max/min of the global id,
// a float sum of small integers (exact, so the order does not matter), and a CAS-built increment.
extern "C" __global__ void emutest_atomics(int* counter, int* max_id, int* min_id, float* fsum, unsigned* cas_count, unsigned* ucount) {
    const int id = blockIdx.x * blockDim.x + threadIdx.x;
    atomicAdd(counter, 1);
    atomicMax(max_id, id);
    atomicMin(min_id, id);
    atomicAdd(fsum, (float)(id % 4));
    atomicAdd(ucount, 2u);
    unsigned old = *cas_count, seen;
    while ((seen = atomicCAS(cas_count, old, old + 1)) != old) old = seen;
}

// Reads a static __shared__ array before any thread wrote it: the emulator fills static shared memory
// with 0xFF (NaN) at each launch, so out[t] is NaN; then the normal path (write, sync, read) works.
extern "C" __global__ void emutest_static_smem_unwritten(float* first, float* out) {
    __shared__ float s[64];
    const int t = threadIdx.x;
    first[t] = s[t];
    __syncthreads();
    s[t] = (float)t;
    __syncthreads();
    out[t] = s[63 - t];
}
