// losses.cu: the full-resolution segmentation loss of spec §9.2 (2-class softmax, class-balanced focal, dice).
//
//   P = softmax over the 2 channels of logits[Bt,2,S,S] (channel 1 = abnormal), G = mask[Bt,S,S] > 0.5,
//   p_t = P[G], fl = -(1-p_t)^2 * log(p_t + 1e-8),
//   focal = sum_{G=1} fl / (#G=1 + 1e-8) + sum_{G=0} fl / (#G=0 + 1e-8),
//   dice  = 1 - (2*sum(P1*G) + 1e-5) / (sum(P1) + sum(G) + 1e-5), all sums pooled over the batch.
// Shapes: logits, dlogits [Bt,2,S,S]; mask [Bt,S,S]; partials [blocks,7]; stats [8]; loss [2] = (focal, dice).
// Gradient semantics: dlogits is an activation gradient and is overwritten.
// CPU reference: SegLossReference.Forward / Backward.
//
// Determinism without float atomics: seg_loss_partial writes one row of 7 block sums per block (the launcher
// fixes the block count from the size alone), seg_loss_finish adds those rows in a fixed order in one block.
// Class counts are float sums of 0/1, exact up to 2^24 pixels; the launchers reject larger batches.
// The backward needs only the saved sums, so it is a plain element-wise kernel. With 2 channels,
// dP_t/dz_t = P_t*P_o and dP_t/dz_o = -P_t*P_o, so both logits get the same magnitude with opposite signs.
#include "common.cuh"

#define SEG_SUMS 7
#define SEG_FOCAL_EPS 1e-8f
#define SEG_DICE_EPS 1e-5f

// Both channel probabilities of one pixel, computed as a max-subtracted softmax like PyTorch's.
__device__ __forceinline__ void seg_softmax2(float z0, float z1, float* p0, float* p1) {
    const float m = fmaxf(z0, z1);
    const float e0 = expf(z0 - m), e1 = expf(z1 - m);
    const float inv = 1.0f / (e0 + e1);
    *p0 = e0 * inv;
    *p1 = e1 * inv;
}

extern "C" __global__ void seg_loss_partial(float* partials /* [gridDim.x,7] */, const float* logits /* [Bt,2,S,S] */,
                                            const float* mask /* [Bt,S,S] */, int bt, int plane) {
    __shared__ float scratch[32];
    float acc[SEG_SUMS] = {0, 0, 0, 0, 0, 0, 0};
    const long n = (long)bt * plane;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        const long b = i / plane, p = i - b * plane;
        float p0, p1;
        seg_softmax2(logits[b * 2 * plane + p], logits[b * 2 * plane + plane + p], &p0, &p1);
        const bool pos = mask[i] > 0.5f;
        const float pt = pos ? p1 : p0, q = 1.0f - pt;
        const float fl = -q * q * logf(pt + SEG_FOCAL_EPS);
        const float g = pos ? 1.0f : 0.0f;
        acc[0] += g;
        acc[1] += 1.0f - g;
        acc[2] += pos ? fl : 0.0f;
        acc[3] += pos ? 0.0f : fl;
        acc[4] += p1 * g;
        acc[5] += p1;
        acc[6] += g;
    }
    for (int k = 0; k < SEG_SUMS; k++) {
        const float s = block_sum(acc[k], scratch);
        if (threadIdx.x == 0) partials[(long)blockIdx.x * SEG_SUMS + k] = s;
    }
}

// One block: stats[k] = sum over the partial rows (fixed order per thread, then block_sum), then the losses.
extern "C" __global__ void seg_loss_finish(float* loss /* [2] */, float* stats /* [8] */, const float* partials /* [rows,7] */, int rows) {
    __shared__ float scratch[32];
    __shared__ float sums[SEG_SUMS];
    for (int k = 0; k < SEG_SUMS; k++) {
        float s = 0.0f;
        for (int r = threadIdx.x; r < rows; r += blockDim.x) s += partials[(long)r * SEG_SUMS + k];
        s = block_sum(s, scratch);
        if (threadIdx.x == 0) sums[k] = s;
    }
    if (threadIdx.x == 0) {
        for (int k = 0; k < SEG_SUMS; k++) stats[k] = sums[k];
        stats[SEG_SUMS] = 0.0f;
        loss[0] = sums[2] / (sums[0] + SEG_FOCAL_EPS) + sums[3] / (sums[1] + SEG_FOCAL_EPS);
        loss[1] = 1.0f - (2.0f * sums[4] + SEG_DICE_EPS) / (sums[5] + sums[6] + SEG_DICE_EPS);
    }
}

extern "C" __global__ void seg_loss_backward(float* dlogits /* [Bt,2,S,S] */, const float* stats /* [8] */, const float* logits /* [Bt,2,S,S] */,
                                             const float* mask /* [Bt,S,S] */, int bt, int plane, float dfocal, float ddice) {
    const long n = (long)bt * plane;
    const float w1 = dfocal / (stats[0] + SEG_FOCAL_EPS), w0 = dfocal / (stats[1] + SEG_FOCAL_EPS);
    const float inter = 2.0f * stats[4] + SEG_DICE_EPS, uni = stats[5] + stats[6] + SEG_DICE_EPS;
    const float dice_scale = ddice / (uni * uni);
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
        const long b = i / plane, p = i - b * plane;
        const long o0 = b * 2 * plane + p, o1 = o0 + plane;
        float p0, p1;
        seg_softmax2(logits[o0], logits[o1], &p0, &p1);
        const bool pos = mask[i] > 0.5f;
        const float pt = pos ? p1 : p0, q = 1.0f - pt, lg = pt + SEG_FOCAL_EPS;
        // d fl / d p_t, then into d/dz1 (+ when the true class is the abnormal one).
        const float dfl = (2.0f * q * logf(lg) - q * q / lg) * (pos ? w1 : w0);
        const float g = pos ? 1.0f : 0.0f;
        const float ddice_dp1 = -(2.0f * g * uni - inter) * dice_scale;
        const float dz1 = p0 * p1 * ((pos ? dfl : -dfl) + ddice_dp1);
        dlogits[o1] = dz1;
        dlogits[o0] = -dz1;
    }
}
