#include "ops/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <system_error>

#include "util/error.h"

namespace strata {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

}  // namespace

ThreadPool::ThreadPool(int n_threads, ThreadPoolOptions opts) : opts_(opts) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (n_threads > kMaxThreads)
    throw InputError("thread count " + std::to_string(n_threads) + " is above the limit of " +
                     std::to_string(kMaxThreads));
  n_threads_ = n_threads;
  scratch_.resize(static_cast<size_t>(n_threads_) * kSlots);
  if (opts_.pin) {
    cpus_ = allowed_cpus();
    pinned_ = !cpus_.empty();
    if (pinned_) pin_to(0);
  }
  workers_.reserve(n_threads_ - 1);
  try {
    for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
  } catch (const std::system_error& e) {
    // The OS refused a thread (limits, memory): stop the ones started, since a constructor that throws
    // runs no destructor and joinable threads would abort the process.
    const size_t started = workers_.size();
    stop_workers();
    throw Error("cannot start " + std::to_string(n_threads_) + " threads (the system refused thread " +
                std::to_string(started + 1) + ": " + e.what() + ")");
  }
}

void ThreadPool::stop_workers() {
  stop_.store(true, std::memory_order_seq_cst);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  generation_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

ThreadPool::~ThreadPool() {
  stop_workers();
  for (auto& s : shared_) std::free(s.p);
}

void ThreadPool::pin_to(int thread) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpus_[static_cast<size_t>(thread) % cpus_.size()], &set);
  // Best effort: a container may forbid it, and the pool still works unpinned.
  (void)sched_setaffinity(0, sizeof set, &set);
}

void ThreadPool::drain(int thread) {
  const int64_t n = n_tasks_;
  const auto& fn = *job_;
  for (;;) {
    const int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (task >= n || failed_.load(std::memory_order_relaxed)) return;
    try {
      fn(task, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lk(err_mu_);
      if (!failed_.exchange(true)) error_ = std::current_exception();
      return;
    }
  }
}

void ThreadPool::worker_loop(int thread) {
  if (pinned_) pin_to(thread);
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    if (g == seen) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(opts_.spin_us);
      for (int i = 0; (g = generation_.load(std::memory_order_acquire)) == seen; ++i) {
        cpu_relax();
        if ((i & 255) == 255 && std::chrono::steady_clock::now() > deadline) {
          // Announce the sleep before re-checking (inside wait), so a job published after this point
          // sees sleepers_ > 0 and notifies: both sides use seq_cst, Dekker-style.
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          generation_.wait(seen, std::memory_order_seq_cst);
          sleepers_.fetch_sub(1, std::memory_order_relaxed);
          i = 0;
        }
      }
    }
    seen = g;
    if (stop_.load(std::memory_order_acquire)) return;
    drain(thread);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run_ref(int64_t n_tasks, TaskRef fn) {
  if (n_tasks <= 0) return;
  // Single tasks and single-thread pools skip the hand-off entirely.
  if (n_threads_ == 1 || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  job_ = &fn;
  n_tasks_ = n_tasks;
  next_task_.store(0, std::memory_order_relaxed);
  failed_.store(false, std::memory_order_relaxed);
  error_ = nullptr;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);  // publishes the job fields above
  if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();
  drain(0);
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) {
    cpu_relax();
    // A worker that was descheduled (a shared machine) would otherwise make us burn its core.
    if (i > 4096) std::this_thread::yield();
  }
  job_ = nullptr;
  if (failed_.load(std::memory_order_relaxed)) {
    std::exception_ptr err = error_;
    error_ = nullptr;
    if (err) std::rethrow_exception(err);
  }
}

int64_t ThreadPool::chunk_size(int64_t n, int64_t min_chunk) const {
  // About four chunks per thread balances uneven rows (quant types, causal attention) without making
  // the per-task overhead visible.
  return std::max(std::max<int64_t>(1, min_chunk), (n + 4 * n_threads_ - 1) / (4 * n_threads_));
}

float* ThreadPool::scratch(int thread, int slot, size_t n_floats) {
  if (thread < 0 || thread >= n_threads_ || slot < 0 || slot >= kSlots)
    throw Error("ThreadPool::scratch: thread " + std::to_string(thread) + " / slot " +
                std::to_string(slot) + " out of range");
  auto& v = scratch_[static_cast<size_t>(thread) * kSlots + slot];
  if (v.size() < n_floats) v.resize(n_floats);
  return v.data();
}

uint8_t* ThreadPool::shared_scratch(size_t n_bytes, int slot) {
  if (slot < 0 || slot >= kSharedSlots)
    throw Error("ThreadPool::shared_scratch: slot " + std::to_string(slot) + " out of range");
  Aligned& s = shared_[slot];
  if (s.n < n_bytes) {
    // Grow geometrically so a prompt of slowly increasing batches does not reallocate every call.
    const size_t n = std::max(n_bytes, s.n + s.n / 2);
    void* p = std::aligned_alloc(64, (n + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    std::free(s.p);
    s.p = static_cast<uint8_t*>(p);
    s.n = n;
  }
  return s.p;
}

}  // namespace strata
