// The machine profile: what `strata probe` measured (or a preset / tier file declared), stored as JSON and
// reused by plan, run and serve until the user asks for a re-measurement.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tiers/tier.h"

namespace strata {

struct CpuInfo {
  std::string model;                // "Intel Xeon Gold 6338", "xeon-6338" for presets
  uint32_t sockets = 1;
  uint32_t cores = 0;               // physical cores over all sockets
  uint32_t threads = 0;             // threads inference uses
  double prefill_flops = 0;         // effective FLOP/s of quantized matmul on all threads (0: unknown)
  // Ceiling on weight bytes/s the decode kernels can consume (dequantize + dot) on all threads; 0 means
  // unknown, treated as no ceiling (memory bound). `strata bench` fills it in once kernels exist.
  double decode_bytes_per_s = 0;
  // Decode attention's multiply-accumulates per second on all threads, reading an F16 KV cache from DRAM
  // (its memory time included), for grouped-query heads and for absorbed MLA (many more heads per cache
  // row, about twice the rate); 0 means unknown, treated as no cost beyond the KV bytes. `strata probe`
  // measures both on reference shapes, `strata bench` the model's own.
  double attention_macs_per_s = 0;
  double mla_attention_macs_per_s = 0;
  // Fixed CPU cost per layer per token: thread barriers between the layer's ops (more across sockets).
  double per_layer_overhead_s = 0;

  bool operator==(const CpuInfo&) const = default;
};

struct MachineProfile {
  CpuInfo cpu;
  std::vector<TierSpec> tiers;
  std::vector<std::string> notes;   // what probing could not do, assumptions, detection findings
  std::string created;              // ISO-8601 time of the probe ("" for presets)

  const TierSpec* find(const std::string& name) const;
  TierSpec* find(const std::string& name);
  bool operator==(const MachineProfile&) const = default;
};

std::string profile_to_json(const MachineProfile& p);
// Throws FormatError naming the file (or "<json>") on malformed content.
MachineProfile profile_from_json(const std::string& text, const std::string& origin = "<json>");
void save_profile(const MachineProfile& p, const std::string& path);
MachineProfile load_profile(const std::string& path);
// $STRATA_PROFILE, else $XDG_CACHE_HOME/strata/machine.json, else ~/.cache/strata/machine.json.
std::string default_profile_path();

}  // namespace strata
