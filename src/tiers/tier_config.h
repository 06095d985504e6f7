// Tier configuration files (TOML): declare tiers probing cannot see (a GPU without a CUDA build, a
// Memory Mode far bandwidth) or override what it measured. Example:
//
//   base = "probe"                      # start from the saved machine profile; or a --hardware string
//   [cpu]
//   threads = 32
//   [[tier]]
//   name = "pmem0"                      # an existing name overrides only the keys given
//   kind = "pmem"                       # required for a new tier
//   mode = "fsdax"
//   path = "/mnt/pmem0"
//   capacity = "768G"                   # K/M/G/T = powers of 1024, KB/MB/GB/TB = powers of 1000
//   bandwidth = "30GB/s"                # CPU streaming read (byte-addressable tiers)
//   seq_read = "7GB/s"                  # block tiers: large direct reads
//   random_4k = "50MB/s"
//   latency = "300ns"
//   numa_node = 0
//   [[tier]]
//   name = "nvme1"
//   remove = true
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tiers/machine.h"

namespace strata {

struct TierOverride {
  std::string name;
  bool remove = false;
  std::optional<TierKind> kind;
  std::optional<uint64_t> capacity, near_cache_bytes;
  std::optional<double> stream_bw, seq_read_bw, random_4k_bw, latency_s, peak_bw, near_cache_bw, link_bw,
      link_latency_s, compute_flops;
  std::optional<int> numa_node;
  std::optional<std::string> path, mode;
};

struct TierConfig {
  std::string origin;               // file name, for messages
  std::string base;                 // "", "probe", or a hardware string (resolved by the caller)
  std::optional<uint32_t> threads, sockets, cores;
  std::optional<double> prefill_flops, decode_bytes_per_s, attention_macs_per_s, mla_attention_macs_per_s,
      per_layer_overhead_s;
  std::vector<TierOverride> tiers;
};

// Throws FormatError naming the file, line and key.
TierConfig parse_tier_config(const std::string& text, const std::string& origin);
TierConfig load_tier_config(const std::string& path);
// Throws InputError when a new tier lacks a kind or ends up without a bandwidth.
void apply_tier_config(MachineProfile& profile, const TierConfig& cfg);

}  // namespace strata
