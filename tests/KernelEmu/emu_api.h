// emu_api.h: the C ABI of libkernelemu.so that EmuGpu (C#) calls. Functions returning int return 0 on
// success, else nonzero with a message in err (or out). `workers` is how many threads share the work
// (blocks, GEMM columns); results do not depend on it.
#pragma once
#include <stddef.h>

#define EMU_API extern "C" __attribute__((visibility("default")))

EMU_API int emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, size_t smem,
                       void** args, int nargs, int workers, char* err, int errlen);
// The kernel's parameter types, one letter each: p pointer, i int, u unsigned, l int64, L uint64, f float,
// d double, b bool, s anything else.
EMU_API int emu_kernel_signature(const char* name, char* out, int outlen);
// Every registered kernel name, one per line; returns the length needed (including the terminator).
EMU_API int emu_kernel_list(char* out, int outlen);
EMU_API void emu_set_stack_bytes(size_t bytes);
EMU_API size_t emu_get_stack_bytes();
// cublasSgemmStridedBatched, column-major; beta == 0 never reads C, alpha == 0 never reads A or B.
EMU_API int emu_sgemm_strided_batched(int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                                      long long stride_a, const float* b, int ldb, long long stride_b, float beta, float* c, int ldc,
                                      long long stride_c, int batch, int workers, char* err, int errlen);
// The bf16 cublasGemmStridedBatchedEx (A and B bfloat16 bits, C fp32), same semantics as the sgemm above.
EMU_API int emu_gemm_bf16_strided_batched(int trans_a, int trans_b, int m, int n, int k, float alpha, const unsigned short* a, int lda,
                                          long long stride_a, const unsigned short* b, int ldb, long long stride_b, float beta, float* c,
                                          int ldc, long long stride_c, int batch, int workers, char* err, int errlen);
