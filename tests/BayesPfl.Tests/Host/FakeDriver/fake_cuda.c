// fake_cuda.c: a stand-in for libcuda and libcublas, so that CI (no GPU) can drive CudaGpu and the
// `bayespfl device` verb through the real [LibraryImport] bindings: argument order and marshalling,
// context and stream handling, the kernel cache, module loading, launch parameters, cuBLAS operands.
// "Device" memory is host memory. Kernels cannot run here, so the few that the device verb launches are
// re-implemented in C below; any other kernel fails with CUDA_ERROR_NOT_FOUND ("not emulated").
// cuBLAS GEMMs follow the column-major definition, accumulated in double.
// Built by FakeDriverTests with: gcc -shared -fPIC -o libfakecuda.so fake_cuda.c
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
#define OK 0
#define INVALID_VALUE 1
#define INVALID_HANDLE 400
#define NOT_FOUND 500
static void* const CONTEXT = (void*)0x1234;
static void* const STREAM = (void*)0x5678;

CUresult cuInit(unsigned flags) { return OK; }
CUresult cuDriverGetVersion(int* v) { *v = 13000; return OK; }
CUresult cuGetErrorName(CUresult e, const char** s) {
    *s = e == INVALID_VALUE ? "CUDA_ERROR_INVALID_VALUE" : e == NOT_FOUND ? "CUDA_ERROR_NOT_FOUND" : "CUDA_ERROR_INVALID_HANDLE";
    return OK;
}
CUresult cuGetErrorString(CUresult e, const char** s) { *s = e == NOT_FOUND ? "kernel not emulated by fake_cuda.c" : "fake driver error"; return OK; }
CUresult cuDeviceGetCount(int* c) { *c = 1; return OK; }
CUresult cuDeviceGet(int* d, int ordinal) { *d = ordinal; return ordinal == 0 ? OK : INVALID_VALUE; }
CUresult cuDeviceGetName(char* n, int len, int d) { strncpy(n, "Fake GPU", len); return OK; }
CUresult cuDeviceGetAttribute(int* v, int a, int d) { *v = a == 75 ? 9 : a == 76 ? 0 : a == 16 ? 132 : a == 97 ? 232448 : 0; return OK; }
CUresult cuDeviceTotalMem_v2(size_t* b, int d) { *b = 150121545728ULL; return OK; }
CUresult cuDevicePrimaryCtxRetain(void** c, int d) { *c = CONTEXT; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int d) { return OK; }
CUresult cuCtxSetCurrent(void* c) { return c == CONTEXT ? OK : INVALID_HANDLE; }
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t n) { *p = (CUdeviceptr)malloc(n); return OK; }
CUresult cuMemFree_v2(CUdeviceptr p) { free((void*)p); return OK; }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, void* st) { if (st != STREAM) return INVALID_HANDLE; memcpy((void*)d, s, n); return OK; }
CUresult cuMemcpyDtoHAsync_v2(void* d, CUdeviceptr s, size_t n, void* st) { if (st != STREAM) return INVALID_HANDLE; memcpy(d, (void*)s, n); return OK; }
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void* st) { if (st != STREAM) return INVALID_HANDLE; memcpy((void*)d, (void*)s, n); return OK; }
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void* st) { if (st != STREAM) return INVALID_HANDLE; memset((void*)d, v, n); return OK; }
CUresult cuStreamCreate(void** s, unsigned flags) { *s = STREAM; return OK; }
CUresult cuStreamDestroy_v2(void* s) { return s == STREAM ? OK : INVALID_HANDLE; }
CUresult cuStreamSynchronize(void* s) { return s == STREAM ? OK : INVALID_HANDLE; }
CUresult cuEventCreate(void** e, unsigned flags) { *e = malloc(8); return OK; }
CUresult cuEventRecord(void* e, void* s) { return s == STREAM ? OK : INVALID_HANDLE; }
CUresult cuEventSynchronize(void* e) { return OK; }
CUresult cuEventElapsedTime(float* ms, void* start, void* end) { *ms = 0.25f; return OK; }
CUresult cuEventDestroy_v2(void* e) { free(e); return OK; }
// Only images NVRTC made are accepted: a CUBIN (ELF) or NUL-terminated PTX text.
CUresult cuModuleLoadData(void** m, const void* image) {
    if (memcmp(image, "\x7f" "ELF", 4) != 0 && strstr((const char*)image, ".entry") == NULL) return INVALID_VALUE;
    *m = malloc(8);
    return OK;
}
CUresult cuModuleGetFunction(void** f, void* m, const char* name) { *f = strdup(name); return OK; }
CUresult cuModuleUnload(void* m) { free(m); return OK; }
CUresult cuFuncSetAttribute(void* f, int attribute, int value) { return OK; }

// Parameters arrive as cuLaunchKernel gets them: an array of pointers to the values.
#define ARG(type, i) (*(type*)params[i])
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned smem, void* st, void** params, void** extra) {
    const char* name = (const char*)f;
    if (st != STREAM) return INVALID_HANDLE;
    if ((unsigned long)bx * by * bz > 1024) return INVALID_VALUE;
    if (strcmp(name, "linear_forward_fill_bias") == 0) {  // y[m,n] = bias[n] broadcast over rows
        float* y = ARG(float*, 0); const float* bias = ARG(const float*, 1); int m = ARG(int, 2), n = ARG(int, 3);
        for (long i = 0; i < (long)m * n; i++) y[i] = bias[i % n];
        return OK;
    }
    if (strcmp(name, "cast_forward_f32_to_bf16") == 0) {  // round to nearest even (finite inputs only here)
        unsigned short* y = ARG(unsigned short*, 0); const unsigned* x = ARG(const unsigned*, 1); long long n = ARG(long long, 2);
        for (long long i = 0; i < n; i++) y[i] = (unsigned short)((x[i] + 0x7FFFu + ((x[i] >> 16) & 1u)) >> 16);
        return OK;
    }
    return NOT_FOUND;
}

int cublasCreate_v2(void** h) { *h = malloc(8); return 0; }
int cublasDestroy_v2(void* h) { free(h); return 0; }
int cublasSetStream_v2(void* h, void* s) { return s == STREAM ? 0 : 7; }
int cublasSetMathMode(void* h, int mode) { return 0; }
int cublasSgemmStridedBatched(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda, long long sA,
                              const float* B, int ldb, long long sB, const float* beta, float* C, int ldc, long long sC, int batch) {
    for (int b = 0; b < batch; b++)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int p = 0; p < k; p++)
                    acc += (double)(ta ? A[b * sA + (long)i * lda + p] : A[b * sA + (long)p * lda + i]) *
                           (tb ? B[b * sB + (long)p * ldb + j] : B[b * sB + (long)j * ldb + p]);
                float* c = &C[b * sC + (long)j * ldc + i];
                *c = (float)(*alpha * acc + (*beta == 0 ? 0 : *beta * *c));
            }
    return 0;
}

static float bf16_value(const unsigned short* p, long long i) {
    unsigned bits = (unsigned)p[i] << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// Only the bf16 mode's types are accepted (CUDA_R_16BF = 14 operands, CUDA_R_32F = 0 output, CUBLAS_COMPUTE_32F = 68):
// anything else is CUBLAS_STATUS_NOT_SUPPORTED (15), so a wrong enum in the binding fails the device verb.
int cublasGemmStridedBatchedEx(void* h, int ta, int tb, int m, int n, int k, const void* alpha, const void* A, int aType, int lda,
                               long long sA, const void* B, int bType, int ldb, long long sB, const void* beta, void* C, int cType,
                               int ldc, long long sC, int batch, int compute, int algo) {
    if (aType != 14 || bType != 14 || cType != 0 || compute != 68 || algo != -1) return 15;
    const unsigned short *a = A, *bm = B;
    float* c = C;
    float al = *(const float*)alpha, be = *(const float*)beta;
    for (int b = 0; b < batch; b++)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int p = 0; p < k; p++)
                    acc += (double)bf16_value(a, b * sA + (ta ? (long)i * lda + p : (long)p * lda + i)) *
                           bf16_value(bm, b * sB + (tb ? (long)p * ldb + j : (long)j * ldb + p));
                float* out = &c[b * sC + (long)j * ldc + i];
                *out = (float)(al * acc + (be == 0 ? 0 : be * *out));
            }
    return 0;
}
