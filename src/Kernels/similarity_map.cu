// similarity_map.cu: fused test-time anomaly map (Bayes-PFL spec 7.3), forward and backward.
//
// map[oy, ox] = (1/(L·M)) Σ_{j<L} Σ_{m<M} sigmoid(scale · up(s[j, m+M] − s[j, m]))[oy, ox]
// up = bilinear, align_corners=True: src = dst·(in−1)/(out−1) (0 when out == 1), i0 = ⌊src⌋,
//      i1 = min(i0+1, in−1), λ = src − i0 (bilinear.cuh, shared with upsample.cu).
// Shapes: s [L, 2M, h, w] (per layer M normal maps, then the M matched abnormal maps; h x w patch grid),
//         map [H, W]. L layers, M pairs; scale = exp(tau_pix).
// Gradient: similarity_map_backward, ds[L, 2M, h, w] OVERWRITTEN (activation grad):
//   ds[j, m+M, y, x] = −ds[j, m, y, x] = Σ_{oy, ox} wy(oy→y)·wx(ox→x)·scale·σ'(d_jm(oy, ox))·dmap[oy, ox]/(L·M)
//   with d_jm the forward's scaled difference at that pixel (recomputed, σ' = σ·(1 − σ)).
// Reference: BayesPfl.Engine.Backends.Cpu.SimilarityMapReference.Forward (fused, same summation order) and
//            .Backward (its scatter form);
//            SimilarityMapReference.Unfused restates the spec literally.
//
// One thread per output pixel: the taps and weights are computed once and reused for all L·M differences,
// so none of the L·M full-size maps is ever written (518² x 120 floats would be 129 MB of traffic). Bilinear
// is linear, so interpolating the difference equals the difference of the interpolations; the sigmoid and
// the mean stay after it as in the spec. The 4 taps of one pixel are shared by its neighbours, so the reads
// of s (≤ 1.3 MB) hit the caches. No atomics: each thread owns its pixel and sums in a fixed order.
#include "common.cuh"
#include "bilinear.cuh"

extern "C" __global__ void similarity_map_forward(float* map,      // [H, W]
                                                  const float* s,  // [L, 2M, h, w]
                                                  int L, int M, int h, int w, int H, int W, float scale) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)H * W) return;
    const int ox = (int)(idx % W), oy = (int)(idx / W);
    int y0, y1, x0, x1;
    float ly, lx;
    bilinear_tap(oy, h, bilinear_scale(h, H), &y0, &y1, &ly);
    bilinear_tap(ox, w, bilinear_scale(w, W), &x0, &x1, &lx);
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

// The gradient is a GATHER: one thread per (layer j, pair m, grid cell), looping over the ≈ (H/h)² output
// pixels that read the cell and recomputing their difference from the 4 taps (the L·M full-size σ' maps are
// never stored). Fixed loop order, no atomics, so the result is deterministic; the thread writes the
// abnormal cell and the negated normal cell.
extern "C" __global__ void similarity_map_backward(float* ds,          // [L, 2M, h, w]
                                                   const float* dmap,  // [H, W]
                                                   const float* s,     // [L, 2M, h, w]
                                                   int L, int M, int h, int w, int H, int W, float scale) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    const long plane = (long)h * w;
    if (idx >= (long)L * M * plane) return;
    const int cx = (int)(idx % w), cy = (int)(idx / w % h);
    const long jm = idx / plane;
    const int m = (int)(jm % M), j = (int)(jm / M);
    const float* nrm = s + ((long)j * 2 * M + m) * plane;
    const float* abn = nrm + (long)M * plane;
    const float coef = scale / (float)(L * M);
    const float sy = bilinear_scale(h, H), sx = bilinear_scale(w, W);
    int ylo, yhi, xlo, xhi;
    bilinear_range(cy, h, H, &ylo, &yhi);
    bilinear_range(cx, w, W, &xlo, &xhi);
    float sum = 0.0f;
    for (int oy = ylo; oy <= yhi; oy++) {
        const float wy = bilinear_weight(oy, cy, h, sy);
        if (wy == 0.0f) continue;
        int y0, y1;
        float ly;
        bilinear_tap(oy, h, sy, &y0, &y1, &ly);
        for (int ox = xlo; ox <= xhi; ox++) {
            const float wx = bilinear_weight(ox, cx, w, sx);
            if (wx == 0.0f) continue;
            int x0, x1;
            float lx;
            bilinear_tap(ox, w, sx, &x0, &x1, &lx);
            const int i00 = y0 * w + x0, i01 = y0 * w + x1, i10 = y1 * w + x0, i11 = y1 * w + x1;
            const float top = (1.0f - lx) * (abn[i00] - nrm[i00]) + lx * (abn[i01] - nrm[i01]);
            const float bottom = (1.0f - lx) * (abn[i10] - nrm[i10]) + lx * (abn[i11] - nrm[i11]);
            const float sig = 1.0f / (1.0f + expf(-scale * ((1.0f - ly) * top + ly * bottom)));
            sum += wy * wx * sig * (1.0f - sig) * dmap[(long)oy * W + ox];
        }
    }
    const long cell = (long)cy * w + cx;
    ds[((long)j * 2 * M + m + M) * plane + cell] = sum * coef;
    ds[((long)j * 2 * M + m) * plane + cell] = -sum * coef;
}
