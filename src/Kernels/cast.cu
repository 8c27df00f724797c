// cast.cu: element-wise conversion between fp32 and bfloat16, the storage of the bf16 precision mode.
//
//   f32_to_bf16  y = bf16(x): round to nearest, ties to even; a finite x beyond the largest bf16 (after rounding)
//                becomes ±Inf, ±Inf stays, NaN stays a quiet NaN (sign and top payload kept), ±0 and
//                subnormals round like any other value (no flush to zero)
//   bf16_to_f32  y = x widened exactly
// Shapes: y, x [n] (any shape, flattened). No backward: bf16 is inference-only.
// CPU reference: CastReference.RoundToBf16 (host conversion Bf16.FromFloat / ToFloat; the device conversion is
// float_to_bf16 / bf16_to_float in common.cuh, bit for bit the same).
//
// Grid-stride loops over 2-byte elements read or written one per thread: the conversion is a handful of integer
// ops, so the kernel is bound by memory bandwidth whatever the vector width; scalar accesses keep any n and any
// (2-byte aligned) view offset legal.
#include "common.cuh"

extern "C" __global__ void cast_forward_f32_to_bf16(bf16_t* y /* [n] */, const float* x /* [n] */, long long n) {
    GRID_STRIDE(i, n) y[i] = float_to_bf16(x[i]);
}

extern "C" __global__ void cast_forward_bf16_to_f32(float* y /* [n] */, const bf16_t* x /* [n] */, long long n) {
    GRID_STRIDE(i, n) y[i] = bf16_to_float(x[i]);
}
