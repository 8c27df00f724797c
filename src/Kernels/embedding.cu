// embedding.cu: row gather with an optional splice and positional add (the CLIP text-tower input).
//
//   y[i,t,:] = src(i,t) + pos[t,:]        (pos optional)
//   src(i,t) = table[ids[i,t],:]          when ids[i,t] >= 0
//            = inject[i, -1-ids[i,t], :]  when ids[i,t] <  0   (Bayes-PFL's learnable prompt block, spec 4.4)
//
// Shapes: ids[n,T] (integer values stored as float: engine tensors are F32, exact below 2^24),
// y[n,T,C], table[V,C], pos[>=T,C], inject[n,J,C]. rows = n*T.
// Reference: CpuBackend.Embedding / CpuBackend.EmbeddingBackward.
// Gradient (embedding_backward): only w.r.t. the spliced rows, since the token table and positional rows are
// frozen CLIP weights: dinject[i,j,:] = Σ_t [ids[i,t] == -1-j] dy[i,t,:] (t in order; zero if no id names
// slot j), dinject OVERWRITTEN. One block per (i, j) scanning the T ids: a gather, no atomics.
// Why: one launch builds a whole batch of prompts (60 per image) instead of one copy per row. One block per
// output row, threads striding over C, so any width works. A kernel cannot throw, so an id that names no row
// writes a NaN row that parity and NaN checks catch.

#include "common.cuh"

extern "C" __global__ void embedding_forward(
    float* y,              // [n,T,C]
    const float* ids,      // [n,T]
    const float* table,    // [V,C]
    const float* pos,      // [>=T,C] or null
    const float* inject,   // [n,J,C] or null
    int rows, int T, int C, int V, int J)
{
    const int m = blockIdx.x;
    if (m >= rows) return;
    const int i = m / T, t = m % T;
    const float id = ids[m];
    const float* src = 0;
    // Range checks on the float first: converting an out-of-range float to int is undefined.
    if (id >= 0.0f && id < (float)V && id == (float)(int)id) {
        src = table + (long long)(int)id * C;
    } else if (id < 0.0f && id >= -(float)J && id == (float)(int)id) {
        src = inject + ((long long)i * J + (-1 - (int)id)) * C;
    }
    float* dst = y + (long long)m * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        if (src == 0) dst[c] = __int_as_float(0x7fc00000);
        else if (pos == 0) dst[c] = src[c];
        else dst[c] = src[c] + pos[(long long)t * C + c];
    }
}

extern "C" __global__ void embedding_backward(
    float* dinject,        // [n,J,C]
    const float* dy,       // [n,T,C]
    const float* ids,      // [n,T]
    int n, int T, int C, int J)
{
    const int m = blockIdx.x;
    if (m >= n * J) return;
    const int i = m / J;
    const float want = (float)(-1 - m % J);
    float* dst = dinject + (long long)m * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float sum = 0.0f;
        for (int t = 0; t < T; t++)
            if (ids[(long long)i * T + t] == want) sum += dy[((long long)i * T + t) * C + c];
        dst[c] = sum;
    }
}
