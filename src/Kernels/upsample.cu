// upsample.cu: bilinear resize with align_corners=True, forward and backward.
//
// Forward: src = dst·(in−1)/(out−1) (0 when out == 1), i0 = ⌊src⌋, i1 = min(i0+1, in−1), λ = src − i0;
//          y[m, oy, ox] = Σ over the 2x2 taps of x[m, ·, ·] weighted (1−λy|λy)·(1−λx|λx).
// Backward: dx[m, iy, ix] = Σ_{oy, ox} wy(oy→iy)·wx(ox→ix)·dy[m, oy, ox], dx OVERWRITTEN (activation grad).
// Shapes: x, dx [M, h, w]; y, dy [M, H, W] (M = product of the leading dims).
// Reference: BayesPfl.Engine.Backends.Cpu.UpsampleReference (Forward; Backward is its scatter form).
//
// The backward is a GATHER, one thread per dx element, so no atomics and a fixed summation order
// (deterministic). Output index o touches input index i only if |src(o) − i| < 1, i.e. o lies within
// ((i−1)/scale, (i+1)/scale). That range is widened by one on each side against rounding, and each candidate
// then recomputes its taps exactly as the forward does, so the gather adds precisely the forward's weights.
#include "common.cuh"
#include "bilinear.cuh"

extern "C" __global__ void upsample_bilinear_forward(float* y,        // [M, H, W]
                                                     const float* x,  // [M, h, w]
                                                     int M, int h, int w, int H, int W) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)M * H * W) return;
    const int ox = (int)(idx % W), oy = (int)(idx / W % H);
    const long m = idx / ((long)W * H);
    int y0, y1, x0, x1;
    float ly, lx;
    bilinear_tap(oy, h, bilinear_scale(h, H), &y0, &y1, &ly);
    bilinear_tap(ox, w, bilinear_scale(w, W), &x0, &x1, &lx);
    const float* r0 = x + (m * h + y0) * w;
    const float* r1 = x + (m * h + y1) * w;
    const float top = (1.0f - lx) * r0[x0] + lx * r0[x1];
    const float bottom = (1.0f - lx) * r1[x0] + lx * r1[x1];
    y[idx] = (1.0f - ly) * top + ly * bottom;
}

extern "C" __global__ void upsample_bilinear_backward(float* dx,        // [M, h, w]
                                                      const float* dy,  // [M, H, W]
                                                      int M, int h, int w, int H, int W) {
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)M * h * w) return;
    const int ix = (int)(idx % w), iy = (int)(idx / w % h);
    const long m = idx / ((long)w * h);
    const float sy = bilinear_scale(h, H), sx = bilinear_scale(w, W);
    int ylo, yhi, xlo, xhi;
    bilinear_range(iy, h, H, &ylo, &yhi);
    bilinear_range(ix, w, W, &xlo, &xhi);
    float sum = 0.0f;
    for (int oy = ylo; oy <= yhi; oy++) {
        const float wy = bilinear_weight(oy, iy, h, sy);
        if (wy == 0.0f) continue;
        const float* row = dy + (m * H + oy) * W;
        float rowSum = 0.0f;
        for (int ox = xlo; ox <= xhi; ox++) {
            const float wx = bilinear_weight(ox, ix, w, sx);
            if (wx != 0.0f) rowSum += wx * row[ox];
        }
        sum += wy * rowSum;
    }
    dx[idx] = sum;
}
