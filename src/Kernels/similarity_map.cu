// similarity_map.cu: fused test-time anomaly map (Bayes-PFL spec 7.3), forward only (inference).
//
// map[oy, ox] = (1/(L·M)) Σ_{j<L} Σ_{m<M} sigmoid(scale · up(s[j, m+M] − s[j, m]))[oy, ox]
// up = bilinear, align_corners=True: src = dst·(in−1)/(out−1) (0 when out == 1), i0 = ⌊src⌋,
//      i1 = min(i0+1, in−1), λ = src − i0 (same tap arithmetic as upsample.cu).
// Shapes: s [L, 2M, h, w] (per layer M normal maps, then the M matched abnormal maps; h x w patch grid),
//         map [H, W]. L layers, M pairs; scale = exp(tau_pix).
// Gradient: none (the training loss up-samples the maps themselves).
// Reference: BayesPfl.Engine.Backends.Cpu.SimilarityMapReference.Forward (fused, same summation order);
//            SimilarityMapReference.Unfused restates the spec literally.
//
// One thread per output pixel: the taps and weights are computed once and reused for all L·M differences,
// so none of the L·M full-size maps is ever written (518² x 120 floats would be 129 MB of traffic). Bilinear
// is linear, so interpolating the difference equals the difference of the interpolations; the sigmoid and
// the mean stay after it as in the spec. The 4 taps of one pixel are shared by its neighbours, so the reads
// of s (≤ 1.3 MB) hit the caches. No atomics: each thread owns its pixel and sums in a fixed order.
#include "common.cuh"

__device__ __forceinline__ void simmap_tap(int dst, int in, int out, int* i0, int* i1, float* lambda) {
    const float scale = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
    const float src = scale * (float)dst;
    *i0 = (int)src;
    *i1 = *i0 < in - 1 ? *i0 + 1 : *i0;
    *lambda = src - (float)*i0;
}

extern "C" __global__ void similarity_map_forward(float* map,      // [H, W]
                                                  const float* s,  // [L, 2M, h, w]
                                                  int L, int M, int h, int w, int H, int W, float scale) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)H * W) return;
    const int ox = (int)(idx % W), oy = (int)(idx / W);
    int y0, y1, x0, x1;
    float ly, lx;
    simmap_tap(oy, h, H, &y0, &y1, &ly);
    simmap_tap(ox, w, W, &x0, &x1, &lx);
    const long plane = (long)h * w;
    const int i00 = y0 * w + x0, i01 = y0 * w + x1, i10 = y1 * w + x0, i11 = y1 * w + x1;
    float sum = 0.0f;
    for (int j = 0; j < L; j++) {
        for (int m = 0; m < M; m++) {
            const float* nrm = s + ((long)j * 2 * M + m) * plane;
            const float* abn = nrm + (long)M * plane;
            const float top = (1.0f - lx) * (abn[i00] - nrm[i00]) + lx * (abn[i01] - nrm[i01]);
            const float bottom = (1.0f - lx) * (abn[i10] - nrm[i10]) + lx * (abn[i11] - nrm[i11]);
            const float d = scale * ((1.0f - ly) * top + ly * bottom);
            sum += 1.0f / (1.0f + expf(-d));
        }
    }
    map[idx] = sum * (1.0f / (float)(L * M));
}
