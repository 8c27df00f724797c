// emu.h: CUDA built-ins on the CPU, for the kernel emulator (see DESIGN.md, "Testing without a GPU").
//
// build.sh force-includes this header (g++ -include emu.h -DKERNEL_EMU) and then compiles each
// src/Kernels/*.cu inside an anonymous namespace, so every helper of a .cu file gets internal linkage: two
// files may define different helpers with the same name (legal under NVRTC, which compiles each file on its
// own) without the linker silently merging them. That is why __device__ expands to nothing here.
//
// Execution model: one fiber per CUDA thread; all fibers of a block run on one worker thread, blocks run in
// parallel on several workers. __shared__ is per-worker storage (static thread_local); threadIdx & co are
// per-worker registers that the scheduler rewrites on every fiber switch. __syncthreads and the warp
// intrinsics are fiber barriers implemented in runtime.cpp.
#pragma once
#ifndef KERNEL_EMU
#error "emu.h is for the kernel emulator build (-DKERNEL_EMU)"
#endif

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cstddef>

// ---- qualifiers -------------------------------------------------------------------------------------------
#ifdef EMU_SCAN
// build.sh preprocesses each .cu with EMU_SCAN to find the kernels that exist under KERNEL_EMU.
#define __global__ EMU_GLOBAL_MARKER
#else
#define __global__
#endif
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static thread_local
#define __constant__ const
// __restrict__ is a g++ keyword already.

// Dynamic shared memory: a pointer to the worker's buffer of the launch's size (filled with 0xFF, a NaN
// pattern, before every block). Declare it inside a function, as the kernels do.
#define DYNAMIC_SMEM(type, name) type* const name = reinterpret_cast<type*>(::emu::dynamic_smem())

// ---- vector types -----------------------------------------------------------------------------------------
#define EMU_VEC(T, N1, N2, N3, N4, A2, A4)                                                                    \
    struct N1 { T x; };                                                                                       \
    struct __attribute__((aligned(A2))) N2 { T x, y; };                                                       \
    struct N3 { T x, y, z; };                                                                                 \
    struct __attribute__((aligned(A4))) N4 { T x, y, z, w; };                                                 \
    static inline N1 make_##N1(T x) { return N1{x}; }                                                         \
    static inline N2 make_##N2(T x, T y) { return N2{x, y}; }                                                 \
    static inline N3 make_##N3(T x, T y, T z) { return N3{x, y, z}; }                                         \
    static inline N4 make_##N4(T x, T y, T z, T w) { return N4{x, y, z, w}; }
EMU_VEC(float, float1, float2, float3, float4, 8, 16)
EMU_VEC(int, int1, int2, int3, int4, 8, 16)
EMU_VEC(unsigned int, uint1, uint2, uint3, uint4, 8, 16)
EMU_VEC(double, double1, double2, double3, double4, 16, 16)
EMU_VEC(signed char, char1, char2, char3, char4, 2, 4)
EMU_VEC(unsigned char, uchar1, uchar2, uchar3, uchar4, 2, 4)
EMU_VEC(short, short1, short2, short3, short4, 4, 8)
EMU_VEC(unsigned short, ushort1, ushort2, ushort3, ushort4, 4, 8)
EMU_VEC(long long, longlong1, longlong2, longlong3, longlong4, 16, 16)
#undef EMU_VEC

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};

// ---- runtime interface (runtime.cpp) ----------------------------------------------------------------------
namespace emu {
struct Regs {  // plain data (uint3, not dim3), so that it can be __thread
    uint3 thread_idx, block_idx, block_dim, grid_dim;
};
// __thread, not thread_local: a plain TLS access, without the C++ init-wrapper call that an extern
// thread_local costs on every read of threadIdx.
extern __thread Regs regs __attribute__((visibility("hidden")));

enum WarpOp : int { ShflIdx, ShflUp, ShflDown, ShflXor, Ballot, Any, All, Sync, RedAdd, RedMin, RedMax, RedUMin, RedUMax };
__attribute__((visibility("hidden"))) void* dynamic_smem();
__attribute__((visibility("hidden"))) int syncthreads(int kind, int pred);  // kind 0 plain, 1 count, 2 and, 3 or
__attribute__((visibility("hidden"))) uint32_t warp(WarpOp op, uint32_t mask, uint32_t value, int arg, int width);
__attribute__((visibility("hidden"))) uint32_t active_mask();
[[noreturn]] __attribute__((visibility("hidden"))) void trap(const char* why);

template <typename T> inline uint32_t lo32(T v) { uint64_t u = 0; memcpy(&u, &v, sizeof(T)); return (uint32_t)u; }
template <typename T> inline uint32_t hi32(T v) { uint64_t u = 0; memcpy(&u, &v, sizeof(T)); return (uint32_t)(u >> 32); }
template <typename T> inline T from_bits(uint32_t lo, uint32_t hi) {
    uint64_t u = (uint64_t)hi << 32 | lo;
    T v;
    memcpy(&v, &u, sizeof(T));
    return v;
}
template <typename T> inline T shfl(WarpOp op, uint32_t mask, T v, int arg, int width) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "warp shuffles move 4- or 8-byte values");
    asm volatile("" ::: "memory");
    const uint32_t lo = warp(op, mask, lo32(v), arg, width);
    const uint32_t hi = sizeof(T) == 8 ? warp(op, mask, hi32(v), arg, width) : 0;
    asm volatile("" ::: "memory");
    return from_bits<T>(lo, hi);
}
}  // namespace emu

#define threadIdx (::emu::regs.thread_idx)
#define blockIdx (::emu::regs.block_idx)
#define blockDim (::emu::regs.block_dim)
#define gridDim (::emu::regs.grid_dim)
static constexpr int warpSize = 32;

// ---- barriers and warp intrinsics -------------------------------------------------------------------------
// Other fibers run while this one waits at a barrier; the runtime call is opaque already, the compiler
// barrier on both sides also keeps function-local static __shared__ arrays from living in registers across it.
#define EMU_FENCED(expr) (__extension__({ asm volatile("" ::: "memory"); auto emu_r_ = (expr); asm volatile("" ::: "memory"); emu_r_; }))
static inline void __syncthreads() { EMU_FENCED(::emu::syncthreads(0, 0)); }
static inline int __syncthreads_count(int p) { return EMU_FENCED(::emu::syncthreads(1, p)); }
static inline int __syncthreads_and(int p) { return EMU_FENCED(::emu::syncthreads(2, p)); }
static inline int __syncthreads_or(int p) { return EMU_FENCED(::emu::syncthreads(3, p)); }
static inline void __syncwarp(unsigned mask = 0xffffffffu) { EMU_FENCED(::emu::warp(::emu::Sync, mask, 0, 0, 32)); }
static inline unsigned __activemask() { return ::emu::active_mask(); }
template <typename T> inline T __shfl_sync(unsigned m, T v, int src, int w = 32) { return ::emu::shfl(::emu::ShflIdx, m, v, src, w); }
template <typename T> inline T __shfl_up_sync(unsigned m, T v, unsigned d, int w = 32) { return ::emu::shfl(::emu::ShflUp, m, v, (int)d, w); }
template <typename T> inline T __shfl_down_sync(unsigned m, T v, unsigned d, int w = 32) { return ::emu::shfl(::emu::ShflDown, m, v, (int)d, w); }
template <typename T> inline T __shfl_xor_sync(unsigned m, T v, int lm, int w = 32) { return ::emu::shfl(::emu::ShflXor, m, v, lm, w); }
static inline unsigned __ballot_sync(unsigned m, int p) { return EMU_FENCED(::emu::warp(::emu::Ballot, m, p != 0, 0, 32)); }
static inline int __any_sync(unsigned m, int p) { return EMU_FENCED((int)::emu::warp(::emu::Any, m, p != 0, 0, 32)); }
static inline int __all_sync(unsigned m, int p) { return EMU_FENCED((int)::emu::warp(::emu::All, m, p != 0, 0, 32)); }
static inline unsigned __reduce_add_sync(unsigned m, unsigned v) { return ::emu::warp(::emu::RedAdd, m, v, 0, 32); }
static inline int __reduce_min_sync(unsigned m, int v) { return (int)::emu::warp(::emu::RedMin, m, (uint32_t)v, 0, 32); }
static inline int __reduce_max_sync(unsigned m, int v) { return (int)::emu::warp(::emu::RedMax, m, (uint32_t)v, 0, 32); }
static inline unsigned __reduce_min_sync(unsigned m, unsigned v) { return ::emu::warp(::emu::RedUMin, m, v, 0, 32); }
static inline unsigned __reduce_max_sync(unsigned m, unsigned v) { return ::emu::warp(::emu::RedUMax, m, v, 0, 32); }
static inline void __trap() { ::emu::trap("__trap() called"); }
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline long long clock64() { return (long long)__builtin_ia32_rdtsc(); }
static inline void __nanosleep(unsigned) {}

// ---- atomics (real atomics: blocks run in parallel on worker threads) --------------------------------------
#define EMU_ATOMIC_INT(T)                                                                                     \
    static inline T atomicAdd(T* p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }               \
    static inline T atomicSub(T* p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }               \
    static inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }               \
    static inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }                 \
    static inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); }               \
    static inline T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }             \
    static inline T atomicCAS(T* p, T cmp, T v) {                                                             \
        __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                   \
        return cmp;                                                                                           \
    }                                                                                                         \
    static inline T atomicMax(T* p, T v) {                                                                    \
        T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);                                                         \
        while (old < v && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {} \
        return old;                                                                                           \
    }                                                                                                         \
    static inline T atomicMin(T* p, T v) {                                                                    \
        T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);                                                         \
        while (old > v && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {} \
        return old;                                                                                           \
    }
EMU_ATOMIC_INT(int)
EMU_ATOMIC_INT(unsigned int)
EMU_ATOMIC_INT(unsigned long long)
EMU_ATOMIC_INT(long long)
#undef EMU_ATOMIC_INT

template <typename F, typename U> inline F emu_atomic_float(F* p, F v, F (*op)(F, F)) {
    U* q = reinterpret_cast<U*>(p);
    U old = __atomic_load_n(q, __ATOMIC_SEQ_CST), next;
    do {
        F o;
        memcpy(&o, &old, sizeof(F));
        const F n = op(o, v);
        memcpy(&next, &n, sizeof(F));
    } while (!__atomic_compare_exchange_n(q, &old, next, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    F r;
    memcpy(&r, &old, sizeof(F));
    return r;
}
static inline float atomicAdd(float* p, float v) { return emu_atomic_float<float, uint32_t>(p, v, [](float a, float b) { return a + b; }); }
static inline double atomicAdd(double* p, double v) { return emu_atomic_float<double, uint64_t>(p, v, [](double a, double b) { return a + b; }); }
static inline float atomicExch(float* p, float v) { return emu_atomic_float<float, uint32_t>(p, v, [](float, float b) { return b; }); }
static inline unsigned atomicInc(unsigned* p, unsigned lim) {
    unsigned old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (!__atomic_compare_exchange_n(p, &old, old >= lim ? 0u : old + 1, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    return old;
}
static inline unsigned atomicDec(unsigned* p, unsigned lim) {
    unsigned old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (!__atomic_compare_exchange_n(p, &old, (old == 0 || old > lim) ? lim : old - 1, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {}
    return old;
}
#define atomicAdd_block atomicAdd
#define atomicMax_block atomicMax
#define atomicMin_block atomicMin

// ---- math and bit intrinsics ------------------------------------------------------------------------------
template <typename To, typename From> inline To emu_bits(From v) {
    static_assert(sizeof(To) == sizeof(From), "bit cast between different sizes");
    To t;
    memcpy(&t, &v, sizeof(To));
    return t;
}
static inline float __int_as_float(int v) { return emu_bits<float>(v); }
static inline int __float_as_int(float v) { return emu_bits<int>(v); }
static inline float __uint_as_float(unsigned v) { return emu_bits<float>(v); }
static inline unsigned __float_as_uint(float v) { return emu_bits<unsigned>(v); }
static inline double __longlong_as_double(long long v) { return emu_bits<double>(v); }
static inline long long __double_as_longlong(double v) { return emu_bits<long long>(v); }

// glibc declares these fast-math names itself (as extern functions), so they become aliases here.
#define __expf expf
#define __exp10f exp10f
#define __logf logf
#define __log2f log2f
#define __log10f log10f
#define __powf powf
#define __sinf sinf
#define __cosf cosf
#define __tanf tanf
#define __sincosf sincosf
static inline float __fdividef(float a, float b) { return a / b; }
static inline float fdividef(float a, float b) { return a / b; }
static inline float __frcp_rn(float x) { return 1.0f / x; }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
static inline float __fsqrt_rn(float x) { return sqrtf(x); }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline float __saturatef(float x) { return x > 1.0f ? 1.0f : (x >= 0.0f ? x : 0.0f); }
static inline float normcdff(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
static inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
static inline int __float2int_rz(float x) { return (int)x; }
static inline int __float2int_rd(float x) { return (int)floorf(x); }
static inline int __float2int_ru(float x) { return (int)ceilf(x); }
static inline unsigned __float2uint_rn(float x) { return (unsigned)nearbyintf(x); }
static inline unsigned __float2uint_rz(float x) { return (unsigned)x; }
static inline float __int2float_rn(int x) { return (float)x; }
static inline float __uint2float_rn(unsigned x) { return (float)x; }
static inline float __ll2float_rn(long long x) { return (float)x; }
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
static inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline int __ffsll(long long x) { return __builtin_ffsll(x); }
static inline unsigned __brev(unsigned x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
static inline int __mul24(int a, int b) { return a * b; }
static inline unsigned __umul24(unsigned a, unsigned b) { return a * b; }
static inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
static inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s) {
    return (unsigned)((((unsigned long long)hi << 32 | lo) << (s & 31)) >> 32);
}
static inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s) {
    return (unsigned)(((unsigned long long)hi << 32 | lo) >> (s & 31));
}
template <typename T> inline T __ldg(const T* p) { return *p; }
template <typename T> inline T __ldcs(const T* p) { return *p; }
template <typename T> inline T __ldcg(const T* p) { return *p; }
template <typename T> inline T __ldca(const T* p) { return *p; }
template <typename T> inline T __ldlu(const T* p) { return *p; }
template <typename T> inline void __stcs(T* p, T v) { *p = v; }
template <typename T> inline void __stcg(T* p, T v) { *p = v; }
template <typename T> inline void __stwt(T* p, T v) { *p = v; }

#define EMU_MINMAX(T)                                                                                         \
    static inline T min(T a, T b) { return b < a ? b : a; }                                                   \
    static inline T max(T a, T b) { return a < b ? b : a; }
EMU_MINMAX(int)
EMU_MINMAX(unsigned int)
EMU_MINMAX(long long)
EMU_MINMAX(unsigned long long)
EMU_MINMAX(long)
EMU_MINMAX(unsigned long)
#undef EMU_MINMAX
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }
