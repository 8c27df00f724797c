// pool.h: the worker threads that run blocks (and GEMM columns) in parallel. One job at a time: run() calls
// the job on the calling thread and on workers - 1 pool threads, and returns when all of them are done.
// The worker count is chosen per call, so concurrent users with different counts cannot disturb each other.
#pragma once
#include <functional>

namespace emu {
__attribute__((visibility("hidden"))) void run_parallel(int workers, const std::function<void()>& job);
}  // namespace emu
