// STREAM-like read bandwidth: every thread streams its own slice of a buffer far larger than the last-level
// cache, pinned to the CPUs that inference will use. The read kernels keep many independent vector
// accumulators: a single running sum is a dependency chain that caps one core far below what memory
// delivers, which is how naive reductions under-report bandwidth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace strata {

// Reads every byte of [p, p + bytes); bytes is a multiple of 256 and p is 64-byte aligned. The result
// folds all loaded data so the loads cannot be optimised away.
using StreamReadFn = uint64_t (*)(const void* p, size_t bytes);
uint64_t stream_read_sse2(const void* p, size_t bytes);
uint64_t stream_read_avx2(const void* p, size_t bytes);
uint64_t stream_read_avx512(const void* p, size_t bytes);

struct StreamKernel {
  StreamReadFn fn;
  const char* name;
};
// The widest kernel this CPU runs, chosen once per call site.
StreamKernel best_stream_kernel();

inline constexpr int kMaxStreamThreads = 4096;

struct StreamOptions {
  size_t bytes = 0;          // whole buffer; 0 = max(1 GiB, 4 x LLC)
  std::vector<int> cpus;     // CPUs to pin threads to (round robin); empty = no pinning
  int threads = 1;
  int numa_node = -1;        // allocate on this node (-1: local policy)
  int min_reps = 3;          // best-of at least this many passes ...
  double min_seconds = 0.5;  // ... and keep passing until this much time is spent
};

struct StreamResult {
  double bytes_per_s = 0;    // best pass: bytes / (last thread end - first thread start)
  double median_bytes_per_s = 0;
  size_t bytes = 0;
  int threads = 0;
  int reps = 0;
  std::string kernel;
};

// Allocates, first-touches (so pages land on the node and are faulted in), then measures. Throws
// InputError above kMaxStreamThreads threads and Error when the system refuses to start them.
StreamResult measure_memory_read(const StreamOptions& opt);
// Measures an existing mapping (a DAX file, a devdax device); the caller owns the memory.
StreamResult measure_buffer_read(const void* p, size_t bytes, const StreamOptions& opt);

// Bytes of the last-level cache (0 when unknown).
size_t last_level_cache_bytes();

}  // namespace strata
