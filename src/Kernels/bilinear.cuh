// bilinear.cuh: the tap arithmetic of bilinear resizing with align_corners=True, shared by upsample.cu and
// similarity_map.cu so that every forward and every gather-form backward use the very same float operations.
//
// src = dst·(in−1)/(out−1) (0 when out == 1), i0 = ⌊src⌋, i1 = min(i0+1, in−1), λ = src − i0.
// Reference: BayesPfl.Engine.Backends.Cpu.UpsampleReference (same arithmetic in C#).
#pragma once

__device__ __forceinline__ float bilinear_scale(int in, int out) { return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f; }

// The taps of output index dst along one axis.
__device__ __forceinline__ void bilinear_tap(int dst, int in, float scale, int* i0, int* i1, float* lambda) {
    const float src = scale * (float)dst;
    *i0 = (int)src;
    *i1 = *i0 < in - 1 ? *i0 + 1 : *i0;
    *lambda = src - (float)*i0;
}

// Weight with which output index o reads input index i along one axis (0 if it does not), from the forward's
// own taps, so a gather adds exactly the forward's weights.
__device__ __forceinline__ float bilinear_weight(int o, int i, int in, float scale) {
    int i0, i1;
    float lambda;
    bilinear_tap(o, in, scale, &i0, &i1, &lambda);
    return (i0 == i ? 1.0f - lambda : 0.0f) + (i1 == i ? lambda : 0.0f);
}

// Output indices [*lo, *hi] that may read input index i: o reads i only if |src(o) − i| < 1, so o lies in
// ((i−1)/scale, (i+1)/scale); widened by one on each side against rounding (a superset; weights decide).
__device__ __forceinline__ void bilinear_range(int i, int in, int out, int* lo, int* hi) {
    if (in == 1 || out == 1) {  // every output reads input 0 (scale 0), or the single output reads i0 = 0, i1 = 1
        *lo = 0;
        *hi = out - 1;
        return;
    }
    const float inv = (float)(out - 1) / (float)(in - 1);
    *lo = max(0, (int)floorf((float)(i - 1) * inv) - 1);
    *hi = min(out - 1, (int)ceilf((float)(i + 1) * inv) + 1);
}
