// pool.cpp: threads created on first need and kept; each job pulls its work items from an atomic counter.
#include "pool.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace emu {
namespace {
class ThreadPool {
public:
    ~ThreadPool() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stop_ = true;
        }
        wake_.notify_all();
        for (auto& t : threads_) t.join();
    }

    void run(int workers, const std::function<void()>& job) {
        std::lock_guard<std::mutex> serial(run_mu_);
        const int helpers = workers > 1 ? workers - 1 : 0;
        while ((int)threads_.size() < helpers) {
            const int index = (int)threads_.size();
            threads_.emplace_back([this, index] { loop(index); });
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            job_ = &job;
            helpers_ = pending_ = helpers;
            generation_++;
        }
        if (helpers) wake_.notify_all();
        job();
        std::unique_lock<std::mutex> lock(mu_);
        done_.wait(lock, [this] { return pending_ == 0; });
        job_ = nullptr;
    }

private:
    void loop(int index) {
        unsigned long seen = 0;
        for (;;) {
            const std::function<void()>* job;
            {
                std::unique_lock<std::mutex> lock(mu_);
                wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
                if (stop_) return;
                seen = generation_;
                if (index >= helpers_) continue;
                job = job_;
            }
            (*job)();
            std::lock_guard<std::mutex> lock(mu_);
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::vector<std::thread> threads_;
    std::mutex mu_, run_mu_;
    std::condition_variable wake_, done_;
    const std::function<void()>* job_ = nullptr;
    int helpers_ = 0, pending_ = 0;
    unsigned long generation_ = 0;
    bool stop_ = false;
};
}  // namespace

void run_parallel(int workers, const std::function<void()>& job) {
    static ThreadPool pool;
    pool.run(workers, job);
}
}  // namespace emu
