// sgemm.cpp: cublasSgemmStridedBatched and the bf16 cublasGemmStridedBatchedEx on the CPU, with cuBLAS's
// column-major semantics:
//   C_i = alpha * op(A_i) * op(B_i) + beta * C_i,  op(A) is m x k, op(B) is k x n, C is m x n,
//   element (r, c) of a column-major matrix X with leading dimension ld sits at X[r + c * ld].
// As in cuBLAS, beta == 0 never reads C (it may hold NaN) and alpha == 0 or k == 0 never reads A or B.
// Sums are accumulated in double: the emulator stands in for the GPU in tests against the fp32 CPU
// reference, and should not add error of its own. Columns of C are spread over the workers.
// One loop serves both: the operand type T is float, or bf16 bits (uint16_t) widened exactly to float (the
// bits are the top half of an fp32), so a bf16 product is exact and only the accumulation order differs from the GPU.
#include "emu_api.h"
#include "pool.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {
inline double widen(float v) { return v; }

inline double widen(uint16_t bf16) {
    const uint32_t bits = (uint32_t)bf16 << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

template <typename T>
struct Gemm {
    bool ta, tb;
    int m, n, k;
    float alpha, beta;
    const T *a, *b;
    float* c;
    int lda, ldb, ldc;
    long long sa, sb, sc;
};

template <typename T>
void column(const Gemm<T>& g, int batch, int j, std::vector<double>& acc) {
    const T* a = g.a + batch * g.sa;
    const T* b = g.b + batch * g.sb;
    float* c = g.c + batch * g.sc + (long long)j * g.ldc;
    std::fill(acc.begin(), acc.end(), 0.0);
    if (g.alpha != 0.0f) {
        for (int l = 0; l < g.k; l++) {
            const double blj = widen(g.tb ? b[j + (long long)l * g.ldb] : b[l + (long long)j * g.ldb]);
            if (g.ta)  // op(A)(i, l) = A(l, i)
                for (int i = 0; i < g.m; i++) acc[i] += widen(a[l + (long long)i * g.lda]) * blj;
            else
                for (int i = 0; i < g.m; i++) acc[i] += widen(a[i + (long long)l * g.lda]) * blj;
        }
    }
    for (int i = 0; i < g.m; i++) {
        const double ab = g.alpha != 0.0f ? g.alpha * acc[i] : 0.0;
        c[i] = (float)(g.beta == 0.0f ? ab : ab + (double)g.beta * c[i]);
    }
}

template <typename T>
int strided_batched(const char* name, int trans_a, int trans_b, int m, int n, int k, float alpha, const T* a, int lda, long long stride_a,
                    const T* b, int ldb, long long stride_b, float beta, float* c, int ldc, long long stride_c, int batch, int workers,
                    char* err, int errlen) {
    const char* why = nullptr;
    if (m < 0 || n < 0 || k < 0 || batch < 0) why = "m, n, k and batch must be >= 0";
    else if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1)) why = "transA and transB must be N (0) or T (1)";
    else if (lda < std::max(1, trans_a ? k : m)) why = "lda is smaller than the rows of A as stored (m for N, k for T)";
    else if (ldb < std::max(1, trans_b ? n : k)) why = "ldb is smaller than the rows of B as stored (k for N, n for T)";
    else if (ldc < std::max(1, m)) why = "ldc is smaller than m";
    if (why) {
        if (err && errlen > 0) snprintf(err, (size_t)errlen, "%s (m=%d n=%d k=%d lda=%d ldb=%d ldc=%d): %s", name, m, n, k, lda, ldb, ldc, why);
        return 1;
    }
    if (m == 0 || n == 0 || batch == 0) return 0;
    const Gemm<T> g{trans_a == 1, trans_b == 1, m, n, k, k == 0 ? 0.0f : alpha, beta, a, b, c, lda, ldb, ldc, stride_a, stride_b, stride_c};
    const long long columns = (long long)n * batch;
    std::atomic<long long> next{0};
    emu::run_parallel((int)std::min<long long>(std::max(workers, 1), columns), [&] {
        std::vector<double> acc((size_t)m);
        for (long long col; (col = next++) < columns;) column(g, (int)(col / n), (int)(col % n), acc);
    });
    return 0;
}
}  // namespace

extern "C" int emu_sgemm_strided_batched(int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                                         long long stride_a, const float* b, int ldb, long long stride_b, float beta, float* c, int ldc,
                                         long long stride_c, int batch, int workers, char* err, int errlen) {
    return strided_batched("sgemm", trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch,
                           workers, err, errlen);
}

extern "C" int emu_gemm_bf16_strided_batched(int trans_a, int trans_b, int m, int n, int k, float alpha, const unsigned short* a, int lda,
                                             long long stride_a, const unsigned short* b, int ldb, long long stride_b, float beta, float* c,
                                             int ldc, long long stride_c, int batch, int workers, char* err, int errlen) {
    return strided_batched("gemm_bf16", trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch,
                           workers, err, errlen);
}
