#include "tiers/stream.h"

#include <emmintrin.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>

#include "util/error.h"
#include "util/huge_buffer.h"

namespace strata {

uint64_t stream_read_sse2(const void* p, size_t bytes) {
  const __m128i* v = static_cast<const __m128i*>(p);
  const size_t n = bytes / 16;
  __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    a0 = _mm_xor_si128(a0, _mm_load_si128(v + i + 0));
    a1 = _mm_xor_si128(a1, _mm_load_si128(v + i + 1));
    a2 = _mm_xor_si128(a2, _mm_load_si128(v + i + 2));
    a3 = _mm_xor_si128(a3, _mm_load_si128(v + i + 3));
    a4 = _mm_xor_si128(a4, _mm_load_si128(v + i + 4));
    a5 = _mm_xor_si128(a5, _mm_load_si128(v + i + 5));
    a6 = _mm_xor_si128(a6, _mm_load_si128(v + i + 6));
    a7 = _mm_xor_si128(a7, _mm_load_si128(v + i + 7));
  }
  __m128i s = _mm_xor_si128(_mm_xor_si128(_mm_xor_si128(a0, a1), _mm_xor_si128(a2, a3)),
                            _mm_xor_si128(_mm_xor_si128(a4, a5), _mm_xor_si128(a6, a7)));
  alignas(16) uint64_t out[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(out), s);
  return out[0] ^ out[1];
}

StreamKernel best_stream_kernel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {stream_read_avx512, "avx512"};
  if (__builtin_cpu_supports("avx2")) return {stream_read_avx2, "avx2"};
  return {stream_read_sse2, "sse2"};
}

size_t last_level_cache_bytes() {
  long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (v > 0) return static_cast<size_t>(v);
  // sysconf may not know (some libcs, some VMs); sysfs does.
  size_t best = 0;
  for (int idx = 0; idx < 8; ++idx) {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(idx) + "/size");
    std::string s;
    if (!(in >> s)) continue;
    size_t mul = 1;
    if (!s.empty() && (s.back() == 'K' || s.back() == 'k')) mul = 1024, s.pop_back();
    else if (!s.empty() && s.back() == 'M') mul = 1024 * 1024, s.pop_back();
    try {
      best = std::max(best, static_cast<size_t>(std::stoull(s)) * mul);
    } catch (const std::exception&) {
    }
  }
  return best;
}

namespace {

using Clock = std::chrono::steady_clock;

void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  // Best effort: a container may forbid some CPUs; an unpinned thread still measures something.
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// The measurement pins the calling thread too (it is worker 0); its affinity is put back afterwards, or
// every thread it starts later (an inference thread pool) would inherit that one CPU.
class AffinityRestore {
 public:
  AffinityRestore() { saved_ok_ = pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) == 0; }
  ~AffinityRestore() {
    if (saved_ok_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
  }
  AffinityRestore(const AffinityRestore&) = delete;
  AffinityRestore& operator=(const AffinityRestore&) = delete;

 private:
  cpu_set_t saved_{};
  bool saved_ok_ = false;
};

// Anonymous memory bound to a node, huge pages advised to keep TLB misses out of the measurement (the
// unbound case is a HugeBuffer).
class NodeBuffer {
 public:
  NodeBuffer(size_t bytes, int node) : bytes_(bytes) {
    if (node >= 0 && numa_available() >= 0) {
      p_ = numa_alloc_onnode(bytes, node);
      if (!p_) throw Error("cannot allocate " + std::to_string(bytes >> 20) + " MiB for the bandwidth probe");
      numa_ = true;
      madvise(p_, bytes, MADV_HUGEPAGE);
    } else {
      unbound_ = HugeBuffer(bytes);
      p_ = unbound_.data();
    }
  }
  ~NodeBuffer() {
    if (numa_) numa_free(p_, bytes_);
  }
  NodeBuffer(const NodeBuffer&) = delete;
  NodeBuffer& operator=(const NodeBuffer&) = delete;
  uint8_t* data() const { return static_cast<uint8_t*>(p_); }

 private:
  void* p_ = nullptr;
  size_t bytes_;
  bool numa_ = false;
  HugeBuffer unbound_;
};

StreamResult run_passes(const uint8_t* base, size_t bytes, const StreamOptions& opt, bool first_touch) {
  const int nt = std::max(1, opt.threads);
  if (nt > kMaxStreamThreads)
    throw InputError("bandwidth probe: " + std::to_string(nt) + " threads is above the limit of " +
                     std::to_string(kMaxStreamThreads));
  // Slices are whole 4 KiB pages so no two threads share a page (first touch decides the node).
  const size_t slice = (bytes / nt) & ~size_t{4095};
  if (slice < 4096) throw InputError("bandwidth probe buffer too small for " + std::to_string(nt) + " threads");
  const StreamKernel kernel = best_stream_kernel();

  std::atomic<bool> stop{false};
  std::vector<Clock::time_point> start(nt), end(nt);
  std::vector<double> pass_bw;
  std::atomic<uint64_t> sink{0};
  const auto t_begin = Clock::now();
  // Completion step runs on one thread between passes: it turns the per-thread stamps into one pass
  // time and decides whether to go on, so every thread sees the same decision.
  int pass = 0;
  auto on_pass = [&]() noexcept {
    if (pass > 0) {
      auto s = *std::min_element(start.begin(), start.end());
      auto e = *std::max_element(end.begin(), end.end());
      double sec = std::chrono::duration<double>(e - s).count();
      if (sec > 0) pass_bw.push_back(static_cast<double>(slice) * nt / sec);
    }
    ++pass;
    const double spent = std::chrono::duration<double>(Clock::now() - t_begin).count();
    const bool enough = static_cast<int>(pass_bw.size()) >= opt.min_reps && spent >= opt.min_seconds;
    // A hard cap keeps a slow tier (PMem at 1 GB/s per thread) from running for minutes.
    if (enough || pass_bw.size() >= 200) stop = true;
  };
  std::barrier sync(nt, on_pass);

  auto worker = [&](int t) {
    pin_to(opt.cpus.empty() ? -1 : opt.cpus[t % opt.cpus.size()]);
    const uint8_t* mine = base + static_cast<size_t>(t) * slice;
    if (first_touch) std::memset(const_cast<uint8_t*>(mine), t + 1, slice);
    uint64_t acc = kernel.fn(mine, slice);  // warm-up pass: TLB, prefetchers, page faults
    sync.arrive_and_wait();
    while (!stop.load()) {
      start[t] = Clock::now();
      acc ^= kernel.fn(mine, slice);
      end[t] = Clock::now();
      sync.arrive_and_wait();
    }
    sink ^= acc;
  };
  // Threads wait for every other one to exist before touching the barrier: if the system refuses one,
  // the barrier would wait forever for it, so the started ones are released and joined instead.
  std::atomic<int> go{0};  // 0: wait, 1: measure, -1: give up
  std::vector<std::thread> threads;
  try {
    for (int t = 1; t < nt; ++t)
      threads.emplace_back([&, t] {
        while (go.load() == 0) std::this_thread::yield();
        if (go.load() == 1) worker(t);
      });
  } catch (const std::system_error& e) {
    go = -1;
    for (auto& th : threads) th.join();
    throw Error("bandwidth probe: cannot start " + std::to_string(nt) + " threads (" + e.what() + ")");
  }
  go = 1;
  {
    AffinityRestore restore;
    worker(0);
  }
  for (auto& th : threads) th.join();

  StreamResult r;
  r.bytes = slice * nt;
  r.threads = nt;
  r.reps = static_cast<int>(pass_bw.size());
  r.kernel = kernel.name;
  if (!pass_bw.empty()) {
    std::sort(pass_bw.begin(), pass_bw.end());
    r.bytes_per_s = pass_bw.back();
    r.median_bytes_per_s = pass_bw[pass_bw.size() / 2];
  }
  if (sink.load() == 0x5eed5eed5eed5eedull) r.kernel += "!";  // consumes the sink; never true in practice
  return r;
}

}  // namespace

StreamResult measure_memory_read(const StreamOptions& opt) {
  size_t bytes = opt.bytes;
  if (bytes == 0) bytes = std::max<size_t>(size_t{1} << 30, 4 * last_level_cache_bytes());
  bytes = (bytes + 4095) & ~size_t{4095};
  NodeBuffer buf(bytes, opt.numa_node);
  return run_passes(buf.data(), bytes, opt, true);
}

StreamResult measure_buffer_read(const void* p, size_t bytes, const StreamOptions& opt) {
  if (reinterpret_cast<uintptr_t>(p) % 4096 != 0) throw InputError("measure_buffer_read needs a page-aligned buffer");
  return run_passes(static_cast<const uint8_t*>(p), bytes, opt, false);
}

}  // namespace strata
