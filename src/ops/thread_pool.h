// A pool of persistent worker threads, created once and passed explicitly to every op that wants to
// parallelise (no global pool: a server may run several sessions with their own pools, and tests pin
// the thread count). The calling thread participates, so a pool of N threads has N-1 workers.
//
// A decoded token runs a few hundred small jobs (one per matrix group), each only tens of microseconds
// long, so hand-off latency is part of decode speed: workers spin on an atomic generation counter for a
// short while after each job and only then sleep on a futex (std::atomic::wait); the caller spins for the
// workers to finish. A condition-variable pool measured ~10-30 us per job here, which is 5-20% of a
// token's time on a MoE model.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

namespace strata {

// A non-owning reference to a callable `void(int64_t task, int thread)`: what a job hands the workers.
// Unlike std::function it never allocates, so a job per op stays allocation-free in the token loop.
class TaskRef {
 public:
  template <class F>
  TaskRef(F& f)  // NOLINT: implicit on purpose, so run() takes lambdas directly
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, int64_t t, int th) { (*static_cast<F*>(o))(t, th); }) {}
  void operator()(int64_t task, int thread) const { call_(obj_, task, thread); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int);
};

struct ThreadPoolOptions {
  // Pin thread i to the i-th CPU this process may run on (the caller included). Off by default: pinning
  // hurts when the machine is shared and the chosen CPUs are busy.
  bool pin = false;
  // How long an idle worker spins before it sleeps.
  int spin_us = 300;
};

class ThreadPool {
 public:
  static constexpr int kMaxThreads = 4096;
  // n_threads <= 0 means one thread per hardware thread. Throws InputError above kMaxThreads, and Error
  // when the system refuses to start the threads.
  explicit ThreadPool(int n_threads = 1, ThreadPoolOptions opts = {});
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  bool pinned() const { return pinned_; }

  // Calls fn(task, thread) for every task in [0, n_tasks), distributing tasks dynamically, and returns
  // when all have finished. `thread` is in [0, size()) and identifies per-thread scratch. The first
  // exception thrown by a task is rethrown here (remaining tasks are skipped). Not reentrant: a task
  // must not call run() on the same pool.
  template <class F>
  void run(int64_t n_tasks, F&& fn) {
    run_ref(n_tasks, TaskRef(fn));
  }
  void run_ref(int64_t n_tasks, TaskRef fn);

  // Splits [0, n) into contiguous ranges of at least `min_chunk` and calls fn(begin, end, thread).
  template <class F>
  void parallel_for(int64_t n, int64_t min_chunk, F&& fn) {
    if (n <= 0) return;
    const int64_t chunk = chunk_size(n, min_chunk);
    auto body = [&](int64_t c, int thread) {
      const int64_t b = c * chunk;
      fn(b, std::min(n, b + chunk), thread);
    };
    run_ref((n + chunk - 1) / chunk, TaskRef(body));
  }

  // Per-thread scratch memory that persists between calls, so kernels do not allocate per token.
  // `slot` separates independent users within one task (e.g. a dequantized row and a score vector).
  float* scratch(int thread, int slot, size_t n_floats);
  // Buffers shared by all threads of a job (e.g. activations quantized once for every row), 64-byte
  // aligned. Slot 0 holds quantized activations and slot 1 the job bookkeeping of matmul_ops, slot 3 the
  // chunk states of split decode attention (ops/attention.cpp); slot 2 is free. Users of one slot must not
  // overlap in time: each fills and reads its slot within one call.
  uint8_t* shared_scratch(size_t n_bytes, int slot = 0);
  static constexpr int kSharedSlots = 4;

 private:
  int64_t chunk_size(int64_t n, int64_t min_chunk) const;
  void worker_loop(int thread);
  void stop_workers();
  void drain(int thread);
  void pin_to(int thread);

  int n_threads_;
  ThreadPoolOptions opts_;
  bool pinned_ = false;
  std::vector<int> cpus_;  // CPUs to pin to, in order
  std::vector<std::thread> workers_;

  // Job hand-off. generation_ changes once per job; workers that sleep are counted in sleepers_ so the
  // caller only pays for a futex wake when someone is actually asleep.
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};  // workers still inside the current job
  alignas(64) std::atomic<int64_t> next_task_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  const TaskRef* job_ = nullptr;
  int64_t n_tasks_ = 0;
  std::mutex err_mu_;
  std::exception_ptr error_;

  static constexpr int kSlots = 4;
  std::vector<std::vector<float>> scratch_;  // [thread * kSlots + slot]
  struct Aligned {
    uint8_t* p = nullptr;
    size_t n = 0;
  };
  Aligned shared_[kSharedSlots];
};

}  // namespace strata
