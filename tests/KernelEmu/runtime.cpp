// runtime.cpp: the fiber scheduler behind emu.h and the launch entry point.
//
// A launch hands blocks to workers (the calling thread plus a pool); a block runs entirely on one worker,
// so results do not depend on the worker count. Inside a block every CUDA thread is a fiber (Boost.Context
// fcontext: a register swap, no syscall). Fibers run round-robin from a ready queue; a fiber that reaches
// a barrier (__syncthreads, a warp intrinsic) parks itself, and the last arriver computes every
// participant's result, requeues them and carries on. When the queue runs dry while fibers still wait,
// the block deadlocked (e.g. a __syncthreads that exited threads never reach): the launch fails with a
// description instead of hanging.
#include "emu.h"
#include "emu_api.h"
#include "emu_register.h"
#include "pool.h"
#include "registry.h"

#include <boost/context/detail/fcontext.hpp>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace ctx = boost::context::detail;

namespace emu {
__thread Regs regs;
extern __thread char shared_begin[1], shared_end[1];  // shared_marks.cpp

namespace {
// Fiber stacks: mmap'd with a PROT_NONE page below, so an overflow faults instead of corrupting a neighbour.
size_t stack_bytes_setting() {
    const char* kb = getenv("BAYESPFL_EMU_STACK_KB");
    return kb && atoi(kb) > 0 ? (size_t)atoi(kb) * 1024 : 64 * 1024;
}
std::atomic<size_t> g_stack_bytes{stack_bytes_setting()};

// Bytes after the launch's dynamic shared memory that must stay 0xFF: reads there see NaN, writes are
// reported after the block.
constexpr size_t kSmemGuard = 4096;

struct Stack {
    char* base;
    size_t size;
    void* top() const { return base + size; }
};

const char* op_name(WarpOp op) {
    static const char* names[] = {"__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync", "__ballot_sync",
                                  "__any_sync", "__all_sync", "__syncwarp", "__reduce_add_sync", "__reduce_min_sync",
                                  "__reduce_max_sync", "__reduce_min_sync", "__reduce_max_sync"};
    return names[op];
}

enum class State : uint8_t { Ready, AtBarrier, AtWarp, Done };

struct Fiber {
    ctx::fcontext_t ctx;
    Stack* stack;
    uint3 tid;
    uint32_t lane, warp;
    State state;
    uint32_t value, result;
    int arg;
};

struct WarpGroup {
    uint32_t mask, arrived;
    WarpOp op;
    int width;
};

struct Launch {
    const KernelInfo* kernel;
    void** args;
    dim3 grid, block;
    size_t smem;
    uint64_t nblocks;
    std::atomic<uint64_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    uint64_t err_block = UINT64_MAX;
    std::string err;

    // Keep the error of the lowest failing block, so the message does not depend on the worker count.
    void fail(uint64_t block, std::string msg) {
        std::lock_guard<std::mutex> lock(mu);
        if (block < err_block) err_block = block, err = std::move(msg);
        failed = true;
    }
};

struct Worker {
    std::vector<Fiber> fibers;
    std::vector<uint32_t> queue;  // ring buffer; a fiber is queued at most once
    size_t head = 0, count = 0;
    std::vector<Stack*> free_stacks;
    size_t stack_bytes = 0;
    ctx::fcontext_t sched = nullptr;
    Fiber* cur = nullptr;
    Launch* launch = nullptr;
    uint32_t nthreads = 0, live = 0;
    uint32_t bar_arrived = 0;
    int bar_kind = 0, bar_acc = 0;
    std::vector<uint32_t> bar_waiting;
    std::vector<std::vector<WarpGroup>> groups;  // pending warp barriers, per warp
    std::vector<uint32_t> warp_exist, warp_exited;
    bool failed = false;
    std::string error;
    char* smem = nullptr;
    size_t smem_cap = 0;

    void push(uint32_t id) { queue[(head + count++) % queue.size()] = id; }
    uint32_t pop() {
        const uint32_t id = queue[head];
        head = (head + 1) % queue.size();
        count--;
        return id;
    }

    Stack* acquire_stack() {
        if (!free_stacks.empty()) {
            Stack* s = free_stacks.back();
            free_stacks.pop_back();
            return s;
        }
        const size_t page = (size_t)sysconf(_SC_PAGESIZE);
        void* mem = mmap(nullptr, stack_bytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) return nullptr;
        mprotect(mem, page, PROT_NONE);
        return new Stack{static_cast<char*>(mem) + page, stack_bytes};
    }

    void drop_stacks() {
        const size_t page = (size_t)sysconf(_SC_PAGESIZE);
        for (Stack* s : free_stacks) munmap(s->base - page, s->size + page), delete s;
        free_stacks.clear();
    }

    ~Worker() {
        drop_stacks();
        free(smem);
    }
};

thread_local Worker worker;

std::string tid_str(uint3 t) { return format("(%u,%u,%u)", t.x, t.y, t.z); }

// Called on a fiber: record the error and return to the scheduler for good.
[[noreturn]] void fiber_fail(std::string msg) {
    Worker& w = worker;
    w.failed = true;
    w.error = "thread " + tid_str(w.cur->tid) + ": " + msg;
    ctx::jump_fcontext(w.sched, nullptr);
    __builtin_unreachable();
}

void yield() {
    ctx::transfer_t t = ctx::jump_fcontext(worker.sched, nullptr);
    worker.sched = t.fctx;
}

// A fiber runs CUDA threads until one parks at a barrier. When its thread returns and the next thread in
// the queue has not started yet, it runs that thread on the same stack right away: the order is what the
// scheduler would pick anyway, and kernels without barriers then cost one call per thread, no switch.
void fiber_main(ctx::transfer_t t) {
    Worker& w = worker;
    w.sched = t.fctx;
    for (;;) {
        w.launch->kernel->invoke(w.launch->args);
        Fiber& f = *w.cur;
        f.state = State::Done;
        w.live--;
        w.warp_exited[f.warp] |= 1u << f.lane;
        if (w.count && !w.fibers[w.queue[w.head]].ctx) {
            Fiber& next = w.fibers[w.pop()];
            next.stack = f.stack, f.stack = nullptr;
            w.cur = &next;
            regs.thread_idx = next.tid;
            continue;
        }
        // Nothing else can take this stack before the scheduler runs again, so it may go back now.
        w.free_stacks.push_back(f.stack), f.stack = nullptr;
        ctx::jump_fcontext(w.sched, nullptr);
        __builtin_unreachable();
    }
}

uint32_t shuffle_source(WarpOp op, uint32_t lane, int arg, int width, bool& own) {
    const uint32_t seg = lane & ~(uint32_t)(width - 1);
    int src = 0;
    switch (op) {
    case ShflIdx: src = (int)seg + (arg & (width - 1)); break;
    case ShflUp: src = (int)lane - arg; own = src < (int)seg; break;
    case ShflDown: src = (int)lane + arg; own = src >= (int)seg + width; break;
    default: src = (int)(lane ^ (uint32_t)arg); own = src >= (int)seg + width; break;
    }
    return (uint32_t)src;
}

// All lanes of group g arrived: compute every lane's result before any of them runs on.
void complete_warp_op(Worker& w, const WarpGroup& g, uint32_t warp_index, uint32_t caller_lane) {
    Fiber* lanes = &w.fibers[warp_index * 32];
    uint32_t bits = 0, sum = 0, umin = UINT32_MAX, umax = 0;
    int imin = INT32_MAX, imax = INT32_MIN;
    for (uint32_t l = 0; l < 32; l++) {
        if (!(g.mask >> l & 1)) continue;
        const uint32_t v = lanes[l].value;
        bits |= (v & 1u) << l;
        sum += v;
        umin = std::min(umin, v), umax = std::max(umax, v);
        imin = std::min(imin, (int)v), imax = std::max(imax, (int)v);
    }
    for (uint32_t l = 0; l < 32; l++) {
        if (!(g.mask >> l & 1)) continue;
        Fiber& f = lanes[l];
        switch (g.op) {
        case ShflIdx: case ShflUp: case ShflDown: case ShflXor: {
            bool own = false;
            const uint32_t src = shuffle_source(g.op, l, f.arg, g.width, own);
            // A source lane outside the mask (or beyond a partial warp) is undefined on the GPU: all-ones
            // bits, a NaN for floats, make the mistake visible.
            f.result = own ? f.value : (src < 32 && (g.mask >> src & 1)) ? lanes[src].value : 0xffffffffu;
            break;
        }
        case Ballot: f.result = bits; break;
        case Any: f.result = bits != 0; break;
        case All: f.result = bits == g.mask; break;
        case Sync: f.result = 0; break;
        case RedAdd: f.result = sum; break;
        case RedMin: f.result = (uint32_t)imin; break;
        case RedMax: f.result = (uint32_t)imax; break;
        case RedUMin: f.result = umin; break;
        case RedUMax: f.result = umax; break;
        }
        if (l != caller_lane) f.state = State::Ready, w.push(warp_index * 32 + l);
    }
}

std::string describe_deadlock(Worker& w) {
    std::string msg = format("deadlock: %u of %u threads are still waiting", w.live, w.nthreads);
    const uint32_t exited = w.nthreads - w.live;
    if (!w.bar_waiting.empty()) {
        msg += format("; %zu wait at __syncthreads (first: thread %s) but %u exited without reaching it", w.bar_waiting.size(),
                      tid_str(w.fibers[w.bar_waiting[0]].tid).c_str(), exited);
        for (const Fiber& f : w.fibers)
            if (f.state == State::Done) { msg += " (first exited: thread " + tid_str(f.tid) + ")"; break; }
        msg += ": a __syncthreads inside a branch that not every thread of the block takes";
    }
    int shown = 0;
    for (uint32_t wi = 0; wi < w.groups.size() && shown < 3; wi++)
        for (const WarpGroup& g : w.groups[wi]) {
            if (shown++ == 3) break;
            msg += format("; warp %u: lanes 0x%08x wait at %s(mask 0x%08x), lanes 0x%08x never arrive (exited: 0x%08x)", wi, g.arrived,
                          op_name(g.op), g.mask, g.mask & ~g.arrived, w.warp_exited[wi] & g.mask);
        }
    return msg;
}

void run_block(Launch& L, uint64_t b) {
    Worker& w = worker;
    const dim3 grid = L.grid, block = L.block;
    regs.block_idx = uint3{(unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y), (unsigned)(b / ((uint64_t)grid.x * grid.y))};
    regs.block_dim = block;
    regs.grid_dim = grid;
    memset(w.smem, 0xff, L.smem);

    const uint32_t n = block.x * block.y * block.z, warps = (n + 31) / 32;
    w.nthreads = w.live = n;
    w.fibers.resize(n);
    w.queue.resize(n);
    w.head = w.count = 0;
    w.groups.assign(warps, {});
    w.warp_exist.assign(warps, 0);
    w.warp_exited.assign(warps, 0);
    w.bar_arrived = 0;
    w.bar_waiting.clear();
    w.failed = false;
    for (uint32_t i = 0; i < n; i++) {
        Fiber& f = w.fibers[i];
        f = Fiber{};
        f.tid = uint3{i % block.x, i / block.x % block.y, i / (block.x * block.y)};
        f.lane = i % 32, f.warp = i / 32;
        w.warp_exist[f.warp] |= 1u << f.lane;
        w.push(i);
    }

    while (w.count && !w.failed) {
        Fiber& f = w.fibers[w.pop()];
        if (!f.ctx) {
            f.stack = w.acquire_stack();
            if (!f.stack) {
                w.failed = true, w.error = "cannot map a fiber stack (out of memory)";
                break;
            }
            f.ctx = ctx::make_fcontext(f.stack->top(), f.stack->size, fiber_main);
        }
        w.cur = &f;
        regs.thread_idx = f.tid;
        const ctx::fcontext_t back = ctx::jump_fcontext(f.ctx, nullptr).fctx;
        w.cur->ctx = back;  // the thread that parked (or finished) may be a later one than f, see fiber_main
    }
    if (!w.failed && w.live) w.failed = true, w.error = describe_deadlock(w);
    static const std::vector<char> all_ones(kSmemGuard, (char)0xff);
    if (!w.failed && memcmp(w.smem + L.smem, all_ones.data(), kSmemGuard) != 0) {
        size_t i = 0;
        while ((unsigned char)w.smem[L.smem + i] == 0xff) i++;
        w.failed = true, w.error = format("wrote past the end of its %zu bytes of dynamic shared memory (at byte %zu)", L.smem, L.smem + i);
    }
    // Fibers abandoned by a failure or deadlock hold no resources but their stacks (kernels own no objects
    // with destructors), so the stacks simply go back to the pool.
    for (Fiber& f : w.fibers)
        if (f.stack) w.free_stacks.push_back(f.stack), f.stack = nullptr;
    if (w.failed) L.fail(b, "block " + tid_str(regs.block_idx) + ", " + w.error);
}

// Static __shared__ arrays start as NaN on every worker at every launch (not per block: that would cost
// the size of all kernels' shared arrays per block). The range is used only if it excludes the runtime's
// own thread-locals, i.e. the link order held.
void poison_static_shared() {
    char *b = shared_begin + 1, *e = shared_end;
    auto inside = [&](const void* p) { return (const char*)p >= b && (const char*)p < e; };
    if (b < e && !inside(&regs) && !inside(&worker)) memset(b, 0xff, (size_t)(e - b));
}

void run_blocks(Launch& L) {
    Worker& w = worker;
    const size_t stack_bytes = g_stack_bytes.load();
    if (w.stack_bytes != stack_bytes) w.drop_stacks(), w.stack_bytes = stack_bytes;
    if (L.smem + kSmemGuard > w.smem_cap) {
        free(w.smem);
        w.smem_cap = (L.smem + kSmemGuard + 127) & ~(size_t)127;
        w.smem = static_cast<char*>(aligned_alloc(128, w.smem_cap));
    }
    memset(w.smem + L.smem, 0xff, kSmemGuard);
    poison_static_shared();
    w.launch = &L;
    for (uint64_t b; !L.failed && (b = L.next++) < L.nblocks;) run_block(L, b);
    w.launch = nullptr;
}

}  // namespace

void* dynamic_smem() { return worker.smem; }

int syncthreads(int kind, int pred) {
    Worker& w = worker;
    Fiber& f = *w.cur;
    if (w.bar_arrived == 0) w.bar_kind = kind, w.bar_acc = kind == 2;
    else if (w.bar_kind != kind) fiber_fail("threads of one block meet at different __syncthreads flavours (_count/_and/_or)");
    const int p = pred != 0;
    w.bar_acc = kind == 1 ? w.bar_acc + p : kind == 2 ? (w.bar_acc & p) : (w.bar_acc | p);
    if (++w.bar_arrived == w.nthreads) {
        for (uint32_t id : w.bar_waiting) w.fibers[id].result = (uint32_t)w.bar_acc, w.fibers[id].state = State::Ready, w.push(id);
        w.bar_waiting.clear();
        w.bar_arrived = 0;
        return w.bar_acc;
    }
    f.state = State::AtBarrier;
    w.bar_waiting.push_back((uint32_t)(&f - w.fibers.data()));
    yield();
    return (int)f.result;
}

uint32_t warp(WarpOp op, uint32_t mask, uint32_t value, int arg, int width) {
    Worker& w = worker;
    Fiber& f = *w.cur;
    if (!(mask >> f.lane & 1)) fiber_fail(format("%s with mask 0x%08x, which leaves out the calling lane %u", op_name(op), mask, f.lane));
    if (width < 1 || width > 32 || (width & (width - 1))) fiber_fail(format("%s with width %d (must be a power of two <= 32)", op_name(op), width));
    const uint32_t eff = mask & w.warp_exist[f.warp];
    if (eff & w.warp_exited[f.warp])
        fiber_fail(format("%s with mask 0x%08x names lanes that already exited (0x%08x)", op_name(op), mask, eff & w.warp_exited[f.warp]));
    auto& groups = w.groups[f.warp];
    WarpGroup* g = nullptr;
    // Groups are keyed by mask: lanes may wait at a half-warp shuffle while others already wait at a
    // full-warp __syncwarp (legal since Volta); a real cycle shows up as a deadlock.
    for (WarpGroup& x : groups)
        if (x.mask == eff) g = &x;
    if (!g) g = &groups.emplace_back(WarpGroup{eff, 0, op, width});
    else if (g->op != op || g->width != width)
        fiber_fail(format("divergent warp: this lane calls %s(width %d) while lanes 0x%08x wait at %s(width %d)", op_name(op), width,
                          g->arrived, op_name(g->op), g->width));
    f.value = value, f.arg = arg;
    g->arrived |= 1u << f.lane;
    if (g->arrived == eff) {
        complete_warp_op(w, *g, f.warp, f.lane);
        groups.erase(groups.begin() + (g - groups.data()));
        return f.result;
    }
    f.state = State::AtWarp;
    yield();
    return f.result;
}

uint32_t active_mask() { return worker.warp_exist[worker.cur->warp] & ~worker.warp_exited[worker.cur->warp]; }

void trap(const char* why) { fiber_fail(why); }
}  // namespace emu

using namespace emu;

extern "C" {
int emu_launch(const char* name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, size_t smem,
               void** args, int nargs, int workers, char* err, int errlen) {
    std::string why;
    const KernelInfo* k = find_kernel(name, why);
    if (!k) return put_error(err, errlen, why);
    if ((size_t)nargs != k->signature.size())
        return put_error(err, errlen, format("takes %zu parameters, the launch passed %d", k->signature.size(), nargs));
    if (!gx || !gy || !gz || !bx || !by || !bz || (uint64_t)bx * by * bz > 1024)
        return put_error(err, errlen, format("invalid launch configuration: grid (%u,%u,%u), block (%u,%u,%u)", gx, gy, gz, bx, by, bz));
    Launch L;
    L.kernel = k, L.args = args, L.grid = dim3(gx, gy, gz), L.block = dim3(bx, by, bz), L.smem = smem;
    L.nblocks = (uint64_t)gx * gy * gz;
    run_parallel((int)std::min<uint64_t>((uint64_t)std::max(workers, 1), L.nblocks), [&L] { run_blocks(L); });
    if (L.failed) return put_error(err, errlen, L.err);
    return 0;
}

void emu_set_stack_bytes(size_t bytes) { g_stack_bytes = std::max<size_t>(bytes, 16 * 1024); }

size_t emu_get_stack_bytes() { return g_stack_bytes; }
}
