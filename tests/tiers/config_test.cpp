// Units, tier classes, machine profile JSON and TOML tier files.
#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"
#include "tiers/machine.h"
#include "tiers/tier.h"
#include "tiers/tier_config.h"
#include "tiers/units.h"
#include "util/error.h"

namespace strata {
namespace {

TEST(Units, Bytes) {
  EXPECT_EQ(parse_bytes("768G", "x"), 768ull << 30);
  EXPECT_EQ(parse_bytes("128GiB", "x"), 128ull << 30);
  EXPECT_EQ(parse_bytes("64GB", "x"), 64000000000ull);
  EXPECT_EQ(parse_bytes("1.5T", "x"), 3ull << 39);
  EXPECT_EQ(parse_bytes("4096", "x"), 4096u);
  EXPECT_THROW(parse_bytes("12Q", "x"), InputError);
  EXPECT_THROW(parse_bytes("-1G", "x"), InputError);
  EXPECT_THROW(parse_bytes("G", "x"), InputError);
  EXPECT_THROW(parse_bytes("99999999999999999G", "x"), InputError);  // would overflow 64 bits
  EXPECT_EQ(parse_bytes("4096T", "x"), 1ull << 52);
}

TEST(Units, BandwidthAndDuration) {
  EXPECT_DOUBLE_EQ(parse_bandwidth("30GB/s", "x"), 30e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth("7000 MB/s", "x"), 7e9);
  EXPECT_DOUBLE_EQ(parse_bandwidth("1e9", "x"), 1e9);
  EXPECT_DOUBLE_EQ(parse_duration("300ns", "x"), 300e-9);
  EXPECT_DOUBLE_EQ(parse_duration("80us", "x"), 80e-6);
  EXPECT_THROW(parse_bandwidth("fast", "x"), InputError);
  EXPECT_EQ(format_bandwidth(30.06e9), "30.1 GB/s");
  EXPECT_EQ(format_bytes(12.34e9), "12.34 GB");
}

TEST(TierClasses, ComputeSitesAndBandwidth) {
  TierSpec s;
  s.name = "x";
  s.capacity = 1ull << 30;
  s.stream_bw = 20e9;
  s.seq_read_bw = 7e9;
  s.random_4k_bw = 50e6;
  s.kind = TierKind::Dram;
  EXPECT_EQ(make_tier(s)->compute_site(), ComputeSite::CpuInPlace);
  EXPECT_DOUBLE_EQ(make_tier(s)->decode_bandwidth(0), 20e9);
  s.kind = TierKind::Gpu;
  EXPECT_EQ(make_tier(s)->compute_site(), ComputeSite::Gpu);
  s.kind = TierKind::Nvme;
  EXPECT_EQ(make_tier(s)->compute_site(), ComputeSite::Staged);
  EXPECT_DOUBLE_EQ(make_tier(s)->decode_bandwidth(0), 7e9);
  EXPECT_FALSE(make_tier(s)->byte_addressable());
  s.kind = TierKind::Mmap;
  EXPECT_DOUBLE_EQ(make_tier(s)->decode_bandwidth(0), 50e6);
  s.kind = TierKind::Dram;
  s.stream_bw = 0;
  EXPECT_THROW(make_tier(s), InputError);  // capacity without a bandwidth cannot be planned
}

TEST(TierClasses, MemoryModeBlendsNearAndFar) {
  TierSpec s;
  s.name = "mm";
  s.kind = TierKind::Pmem;
  s.mode = "memory-mode";
  s.capacity = 768ull << 30;
  s.stream_bw = 28e9;
  s.near_cache_bytes = 192ull << 30;
  s.near_cache_bw = 120e9;
  auto t = make_tier(s);
  auto* pm = dynamic_cast<PmemTier*>(t.get());
  ASSERT_NE(pm, nullptr);
  EXPECT_DOUBLE_EQ(pm->memory_mode_hit_rate(96.0 * (1ull << 30)), 1.0);  // fits the cache
  EXPECT_DOUBLE_EQ(t->decode_bandwidth(96.0 * (1ull << 30)), 120e9);
  const double w = 384.0 * (1ull << 30);
  EXPECT_DOUBLE_EQ(pm->memory_mode_hit_rate(w), 0.5);
  EXPECT_NEAR(t->decode_bandwidth(w), 1.0 / (0.5 / 120e9 + 0.5 / 28e9), 1.0);
  // A larger working set never reads faster.
  EXPECT_LT(t->decode_bandwidth(2 * w), t->decode_bandwidth(w));
}

MachineProfile sample_profile() {
  MachineProfile p;
  p.created = "2026-01-02T03:04:05Z";
  p.cpu.model = "test cpu";
  p.cpu.sockets = 2;
  p.cpu.cores = 64;
  p.cpu.threads = 64;
  p.cpu.prefill_flops = 1.234e12;
  p.cpu.per_layer_overhead_s = 5e-5;
  p.cpu.decode_bytes_per_s = 2.5e10;
  p.cpu.attention_macs_per_s = 1.0 / 7.0 * 1e11;
  p.cpu.mla_attention_macs_per_s = 1.0 / 3.0 * 1e11;
  TierSpec d;
  d.name = "dram0";
  d.kind = TierKind::Dram;
  d.capacity = 64ull << 30;
  d.stream_bw = 1.0 / 3.0 * 1e11;  // not exactly representable in decimal: round trip must keep it
  d.numa_node = 0;
  d.source = "measured";
  TierSpec n;
  n.name = "nvme0";
  n.kind = TierKind::Nvme;
  n.capacity = 2ull << 40;
  n.seq_read_bw = 6.9e9;
  n.random_4k_bw = 5.1e7;
  n.latency_s = 8e-5;
  n.path = "/data";
  p.tiers = {d, n};
  p.notes = {"a note"};
  return p;
}

TEST(Profile, JsonRoundTrip) {
  const MachineProfile p = sample_profile();
  const MachineProfile q = profile_from_json(profile_to_json(p));
  EXPECT_EQ(p, q);
}

TEST(Profile, SaveLoadAndErrors) {
  const std::string path = test::temp_dir() + "/sub/machine.json";
  save_profile(sample_profile(), path);
  EXPECT_EQ(load_profile(path), sample_profile());
  EXPECT_THROW(profile_from_json("{\"format\":\"other\"}"), FormatError);
  EXPECT_THROW(profile_from_json("not json"), FormatError);
  EXPECT_THROW(load_profile(test::temp_dir() + "/missing.json"), InputError);
  // Numbers that do not fit their field (a float cast to an integer was undefined behaviour).
  std::string big = profile_to_json(sample_profile());
  big.replace(big.find("\"threads\": 64"), 14, "\"threads\": 1e46");
  EXPECT_THROW(profile_from_json(big), FormatError);
  std::string ver = profile_to_json(sample_profile());
  ver.replace(ver.find("\"version\": 1"), 12, "\"version\": 1e46");
  EXPECT_THROW(profile_from_json(ver), FormatError);
  // A directory in the way: an error, and the file written beside it is not left behind.
  const std::string dir = test::temp_dir();
  EXPECT_THROW(save_profile(sample_profile(), dir), Error);
  EXPECT_FALSE(std::filesystem::exists(dir + ".tmp"));
}

TEST(TierFile, DeclaresOverridesAndRemoves) {
  const char* text = R"(
base = "probe"
[cpu]
threads = 48
per_layer_overhead = "30us"
attention_macs_per_s = 4.5e10
mla_attention_macs_per_s = "90e9"
[[tier]]
name = "dram0"
capacity = "48G"
[[tier]]
name = "pmem0"
kind = "pmem"
mode = "fsdax"
path = "/mnt/pmem0"
capacity = "768G"
bandwidth = "30GB/s"
latency = "300ns"
numa_node = 0
[[tier]]
name = "nvme0"
remove = true
)";
  TierConfig cfg = parse_tier_config(text, "t.toml");
  EXPECT_EQ(cfg.base, "probe");
  MachineProfile p = sample_profile();
  apply_tier_config(p, cfg);
  EXPECT_EQ(p.cpu.threads, 48u);
  EXPECT_DOUBLE_EQ(p.cpu.per_layer_overhead_s, 30e-6);
  EXPECT_DOUBLE_EQ(p.cpu.attention_macs_per_s, 4.5e10);
  EXPECT_DOUBLE_EQ(p.cpu.mla_attention_macs_per_s, 9e10);
  EXPECT_DOUBLE_EQ(p.cpu.decode_bytes_per_s, 2.5e10);  // not in the file: kept
  ASSERT_NE(p.find("dram0"), nullptr);
  EXPECT_EQ(p.find("dram0")->capacity, 48ull << 30);
  EXPECT_DOUBLE_EQ(p.find("dram0")->stream_bw, 1.0 / 3.0 * 1e11);  // untouched keys keep measured values
  ASSERT_NE(p.find("pmem0"), nullptr);
  EXPECT_EQ(p.find("pmem0")->kind, TierKind::Pmem);
  EXPECT_DOUBLE_EQ(p.find("pmem0")->stream_bw, 30e9);
  EXPECT_DOUBLE_EQ(p.find("pmem0")->latency_s, 300e-9);
  EXPECT_EQ(p.find("nvme0"), nullptr);
}

TEST(TierFile, ErrorsNameTheLine) {
  try {
    parse_tier_config("[[tier]]\nname = \"x\"\ncapacity = \"12Q\"\n", "bad.toml");
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.file(), "bad.toml");
    EXPECT_EQ(e.offset(), 3u);
    EXPECT_EQ(e.field(), "capacity");
  }
  EXPECT_THROW(parse_tier_config("[[tier]]\nname = \"x\"\nbandwith = \"1GB/s\"\n", "t"), FormatError);  // typo
  EXPECT_THROW(parse_tier_config("[[tier\n", "t"), FormatError);
  MachineProfile p;
  // A new tier must say what it is, and a tier with capacity must say how fast it is.
  EXPECT_THROW(apply_tier_config(p, parse_tier_config("[[tier]]\nname = \"x\"\ncapacity = \"1G\"\n", "t")),
               InputError);
  EXPECT_THROW(apply_tier_config(p, parse_tier_config("[[tier]]\nname = \"x\"\nkind = \"dram\"\ncapacity = \"1G\"\n", "t")),
               InputError);
}

}  // namespace
}  // namespace strata
