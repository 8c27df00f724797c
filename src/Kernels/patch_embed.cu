// patch_embed.cu: the im2col half of the patch embedding (Conv2d, kernel = stride = p, no bias).
//
// col[b·P + py·gw + px, (c·p + ky)·p + kx] = image[b, c, py·p + ky, px·p + kx]
// Shapes: image [B, Cin, Hin, Win] with Hin, Win multiples of p; gw = Win/p, P = (Hin/p)·gw; col [B·P, Cin·p·p].
// The launcher then runs one GEMM y[B·P, C] = col · w[C, Cin·p·p]ᵀ through cuBLAS; the column order
// (c, ky, kx) is the memory order of w[C, Cin, p, p], so w needs no reshuffle. Forward only: the image
// encoder is frozen, so no gradient flows into the patch embedding.
// Reference: BayesPfl.Engine.Backends.Cpu.PatchEmbedReference (Im2Col, Forward).
#include "common.cuh"

// One thread per col element, consecutive threads along a col row: the reads of one (c, ky) run of p
// pixels are contiguous in the image, the writes contiguous in col.
extern "C" __global__ void patch_embed_im2col(float* col,          // [B*P, Cin*p*p]
                                              const float* image,  // [B, Cin, Hin, Win]
                                              int B, int Cin, int Hin, int Win, int p) {
    const int gw = Win / p, P = Hin / p * gw, taps = Cin * p * p;
    const long idx = (long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long)B * P * taps) return;
    const int t = (int)(idx % taps), kx = t % p, ky = t / p % p, c = t / (p * p);
    const long row = idx / taps;
    const int patch = (int)(row % P), py = patch / gw, px = patch % gw;
    const long b = row / P;
    col[idx] = image[((b * Cin + c) * Hin + py * p + ky) * Win + px * p + kx];
}
