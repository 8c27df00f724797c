// metrics.cu: the device pass of the pixel metrics (src/Engine/Metrics/Device): ranks every score among a sorted
// set of split keys and counts how many scores fall on or between them.
//
//   key(s) = the order-preserving 32-bit key of the float s, -0 folded onto +0 (ThresholdSweep.Key),
//   j(s)   = #{ i : splits[i] > key(s) }   (splits strictly descending),
//   bin(s) = 2*j + 1 when j < U and splits[j] == key(s)   ("eq j": the score equals split j),
//            2*j     otherwise                              ("gap j": below split j-1, above split j;
//                                                            gap 0 above every split, gap U below all),
//   counts[bin(s)] += 1 for every score.
// Shapes: U = number of split keys (U for "unique scores"; not the glossary's K); counts [2U+1] (uint64,
// accumulated: the launcher zeroes it once, then launches once per chunk of scores), splits [U] (uint32 keys),
// scores [n] (the pixels of a chunk of maps, concatenated).
// No gradient. CPU reference: RankCountReference.Count.
//
// Why this shape: the host picks the splits (the distinct anomalous scores, plus the spec AUPRO thresholds),
// so the count of every bin is all the metrics need from the normal pixels (RankedSweep explains the walk).
// Anomalous pixels are counted too (each lands on its own split's eq bin, where the host subtracts them):
// that way the masks never travel to the device.
// Determinism: integer atomics only. Most normal scores lie below the lowest anomalous score, so the last
// bins are hot: each block counts the last `low_bins` bins in shared memory (32-bit; the launcher keeps a
// chunk under 2^32 scores) and adds them to the global counters once, so one address does not serialise
// hundreds of millions of atomics. Scores below every split take a fast path without the binary search.
#include "common.cuh"

// Integer-only, so that neither flush-to-zero nor a compiler flag can change which floats fold together.
__device__ __forceinline__ unsigned rank_key(float s) {
    unsigned bits = __float_as_uint(s);
    if (bits == 0x80000000u) bits = 0u;
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ __forceinline__ int rank_bin(unsigned key, const unsigned* splits, int u) {
    if (u == 0 || key < splits[u - 1]) return 2 * u;
    // Invariant: splits[hi] <= key; find the first such index.
    int lo = 0, hi = u - 1;
    while (lo < hi) {
        const int mid = lo + (hi - lo) / 2;
        if (splits[mid] > key) lo = mid + 1;
        else hi = mid;
    }
    return 2 * lo + (splits[lo] == key ? 1 : 0);
}

// Grid-stride over the chunk. Dynamic shared memory: low_bins uint32 counters for bins [2U+1-low_bins, 2U].
extern "C" __global__ void rank_count_forward(unsigned long long* counts /* [2U+1] */, const unsigned* splits /* [U] */,
                                              const float* scores /* [n] */, long long n, int u, int low_bins) {
    DYNAMIC_SMEM(unsigned, local);
    const int bins = 2 * u + 1, first_low = bins - low_bins;
    for (int b = threadIdx.x; b < low_bins; b += blockDim.x) local[b] = 0u;
    __syncthreads();
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        const int bin = rank_bin(rank_key(scores[i]), splits, u);
        if (bin >= first_low) atomicAdd(&local[bin - first_low], 1u);
        else atomicAdd(&counts[bin], 1ull);
    }
    __syncthreads();
    for (int b = threadIdx.x; b < low_bins; b += blockDim.x)
        if (local[b] != 0u) atomicAdd(&counts[first_low + b], (unsigned long long)local[b]);
}
