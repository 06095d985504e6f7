// Measurement sanity on the real machine. Buffers and files are small and passes short, so these say
// only that the numbers are physically plausible; the careful comparison is stream_manual_test.cpp.
#include <gtest/gtest.h>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

#include <cstring>
#include <string>
#include <vector>

#include "test_support.h"
#include "tiers/disk_probe.h"
#include "tiers/probe.h"
#include "tiers/stream.h"
#include "util/error.h"

namespace strata {
namespace {

TEST(Stream, KernelsReadEveryByte) {
  alignas(64) static uint8_t buf[4096];
  std::memset(buf, 0, sizeof buf);
  buf[1000] = 0x5a;
  for (auto fn : {stream_read_sse2, best_stream_kernel().fn}) {
    EXPECT_NE(fn(buf, sizeof buf), 0u);
  }
  buf[1000] = 0;
  EXPECT_EQ(best_stream_kernel().fn(buf, sizeof buf), 0u);
}

TEST(Stream, SmallBufferBandwidthIsPlausible) {
  StreamOptions o;
  o.bytes = 64ull << 20;
  o.threads = 2;
  o.min_seconds = 0.1;
  o.min_reps = 3;
  const auto r = measure_memory_read(o);
  EXPECT_GE(r.reps, 3);
  EXPECT_EQ(r.threads, 2);
  // Between a slow laptop's DRAM and several times any cache's bandwidth.
  EXPECT_GT(r.bytes_per_s, 1e9);
  EXPECT_LT(r.bytes_per_s, 5e12);
  EXPECT_GE(r.bytes_per_s, r.median_bytes_per_s);
}

// The measurement pins the calling thread (it is one of the readers); it must give the affinity back, or
// every thread started afterwards (an inference pool) would share that one CPU.
TEST(Stream, PinnedMeasurementRestoresTheCallersAffinity) {
  cpu_set_t before;
  ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof before, &before), 0);
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; ++c)
    if (CPU_ISSET(c, &before)) first = c;
  ASSERT_GE(first, 0);
  StreamOptions o;
  o.bytes = 16ull << 20;
  o.threads = 1;
  o.cpus = {first};
  o.min_seconds = 0.01;
  (void)measure_memory_read(o);
  cpu_set_t after;
  ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof after, &after), 0);
  EXPECT_TRUE(CPU_EQUAL(&before, &after)) << "CPUs allowed before: " << CPU_COUNT(&before)
                                          << ", after: " << CPU_COUNT(&after);
}

TEST(Stream, TooManyThreadsIsAnInputError) {
  StreamOptions o;
  o.bytes = 64ull << 20;
  o.threads = kMaxStreamThreads + 1;
  EXPECT_THROW(measure_memory_read(o), InputError);
}

// In a child process with 1 GiB of address space left, 2000 threads cannot all start: the probe must
// release the ones that did (they would wait at its barrier forever) and throw Error.
[[noreturn]] void stream_with_little_address_space() {
  StreamOptions o;
  o.bytes = 64ull << 20;
  o.threads = 2000;
  o.min_seconds = 0.01;
  uint64_t pages = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%" SCNu64, &pages) != 1) pages = 0;
    std::fclose(f);
  }
  rlimit rl{};
  rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(pages) * 4096 + (o.bytes + (rlim_t{1} << 30));
  if (pages == 0 || setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
  try {
    measure_memory_read(o);
  } catch (const InputError&) {
    _exit(2);
  } catch (const Error& e) {
    _exit(std::string(e.what()).find("cannot start 2000 threads") != std::string::npos ? 0 : 4);
  }
  _exit(1);
}

TEST(Stream, ThreadsTheSystemRefusesAreAnErrorNotAHang) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(stream_with_little_address_space(), ::testing::ExitedWithCode(0), "");
}

// The probe's figures describe the disk at the moment of measuring. On a CI machine that moment may
// fall inside a writeback of the build or of another test's files, and one stalled read then dominates
// a 0.15 s pass (a single 4 KiB read of 200 ms gives a "latency" of 0.2 s). So each pass must be
// self-consistent, and the timing plausibility must hold in at least one of three passes: a probe that
// fails it three times running is measuring wrongly, not unluckily.
TEST(Disk, DirectIoSequentialAndRandom) {
  DiskProbeOptions o;
  o.path = test::temp_dir();
  o.file_bytes = 32ull << 20;
  o.seconds = 0.15;
  std::string failures;
  for (int pass = 0; pass < 3; ++pass) {
    DiskProbeResult r;
    try {
      r = probe_disk(o);
    } catch (const Error& e) {
      GTEST_SKIP() << "SKIPPED: " << e.what();
    }
    // Every pass, whatever the disk did: the figures are finite, positive and agree with each other.
    ASSERT_GT(r.seq_read_bw, 0);
    ASSERT_LT(r.seq_read_bw, 200e9);  // even page-cache hits (a filesystem ignoring O_DIRECT) stay below this
    ASSERT_GT(r.random_4k_latency_s, 0);
    ASSERT_NEAR(r.random_4k_bw * r.random_4k_latency_s, 4096.0, 1e-6 * 4096);
    ASSERT_GT(r.capacity, 0u);
    // Timing plausibility: at least 10 MB/s streaming and 100 KB/s of 4 KiB reads, which any SSD, HDD or
    // virtual disk sustains when not stalled, and queue depth 32 of 1 MiB reads beating single 4 KiB reads.
    std::string why;
    if (r.seq_read_bw <= 10e6) why += " sequential " + std::to_string(r.seq_read_bw) + " B/s;";
    if (r.random_4k_bw <= 1e5) why += " random 4 KiB " + std::to_string(r.random_4k_bw) + " B/s;";
    if (r.random_4k_latency_s >= 0.1) why += " latency " + std::to_string(r.random_4k_latency_s) + " s;";
    if (r.seq_read_bw <= r.random_4k_bw) why += " sequential not faster than random 4 KiB;";
    if (why.empty()) return;
    failures += "\n  pass " + std::to_string(pass + 1) + ":" + why;
  }
  ADD_FAILURE() << "every probe pass was implausible:" << failures;
}

TEST(Disk, RejectsBadPaths) {
  DiskProbeOptions o;
  o.path = test::temp_dir() + "/nope";
  EXPECT_THROW(probe_disk(o), InputError);
  o.path = "/proc/self/status";
  EXPECT_THROW(probe_disk(o), InputError);
}

TEST(Probe, QuickProbeOfThisMachine) {
  ProbeOptions o;
  o.quick = true;
  o.dram_bytes = 64ull << 20;
  o.disk_bytes = 16ull << 20;
  o.dirs = {test::temp_dir()};
  const auto p = probe_machine(o);
  int dram = 0;
  for (const auto& t : p.tiers) {
    if (t.kind == TierKind::Dram) {
      ++dram;
      EXPECT_GT(t.capacity, 256ull << 20);
      EXPECT_GT(t.stream_bw, 1e9);
    }
  }
  EXPECT_GE(dram, 1);
  EXPECT_GT(p.cpu.threads, 0u);
  EXPECT_FALSE(p.created.empty());
}

}  // namespace
}  // namespace strata
