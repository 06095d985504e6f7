// The placement plan and the planner that makes it. The planner is a pure function
//   (catalogue, machine, usage profile, options) -> Plan
// with no I/O and no hidden state, so plans are reproducible and testable from hand-built inputs.
//
// Cost model (decode, batch 1): time per token = sum over tiers of (bytes that tier serves per token /
// its effective bandwidth) + fixed per-layer costs (CPU barriers, GPU launches, activation transfers).
// A routed expert's bytes count with its access probability p (n_used / n_expert, or measured). A staged
// tier (NVMe) costs its misses at sequential direct-read speed plus the DRAM read of the staged copy.
//
// Why greedy by density is optimal here: every placement unit i has a size b_i and a read rate r_i per
// token (density d_i = r_i / b_i), and placing it on tier t costs r_i / B_t. Moving a byte of a denser
// unit from a slower tier s to a faster tier f while moving a byte of a sparser unit the other way changes
// the cost by (d_sparse - d_dense)(1/B_s - 1/B_f) <= 0, so in an optimal fractional solution density never
// increases toward faster tiers: filling tiers fastest-first in decreasing density is exactly optimal for
// the relaxation. Units are indivisible, so the integral plan can lose at most the bytes of one unit per
// tier boundary (one expert, ~20 MB for Kimi K2, against hundreds of GB); the planner accepts that loss
// rather than let a colder unit jump ahead of a hotter one, which keeps the hot-before-cold invariant
// exact. Units of equal density may fill gaps in any order (it cannot change the cost).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/catalogue.h"
#include "plan/usage.h"
#include "tiers/machine.h"
#include "tiers/tier.h"

namespace strata {

struct PlanOptions {
  uint32_t context = 4096;   // tokens of KV cache to reserve
  uint32_t batch = 1;        // sequences decoded together (KV cache copies)
  uint32_t ubatch = 512;     // prefill micro-batch
  bool per_expert = true;    // false: whole tensors only (what llama.cpp -ot can express)
  double kv_fill = 0.5;      // average filled fraction of the context while decoding
  int lookahead_layers = 2;  // staged tiers: layers of experts prefetched ahead (staging buffers)
  TensorType kv_type = TensorType::F16;  // KV cache: F16, F32 or Q8_0

  bool operator==(const PlanOptions&) const = default;
};

struct TierPlan {
  std::string name;
  TierKind kind = TierKind::Dram;
  std::string mode;
  ComputeSite site = ComputeSite::CpuInPlace;
  int group = 0;                 // tiers of one group (NUMA nodes of one kind) are read in parallel
  uint64_t capacity = 0;
  uint64_t reserved_system = 0;  // OS / driver
  uint64_t kv_bytes = 0;
  uint64_t work_bytes = 0;
  uint64_t staging_bytes = 0;    // DRAM buffers for experts streamed from a staged tier
  uint64_t placed_bytes = 0;     // model bytes resident here
  double read_per_token = 0;     // bytes served per decoded token (probability-weighted, incl. KV reads)
  double bandwidth = 0;          // effective decode bandwidth used for this tier
  double seconds_per_token = 0;  // this tier's share of the decode time
  double time_share = 0;         // seconds_per_token / decode_seconds

  bool operator==(const TierPlan&) const = default;
};

struct Plan {
  std::string model;
  std::string arch;
  uint32_t n_layer = 0;
  uint32_t n_expert = 0;
  uint32_t n_expert_used = 0;
  PlanOptions options;
  bool usage_profile = false;

  std::vector<TierPlan> tiers;
  std::map<std::string, int> tensor_tier;    // tensor -> tiers[] index (every tensor not split per expert)
  std::vector<std::vector<int>> expert_tier; // [layer][expert] -> tiers[] index; empty rows: not split
  int kv_tier = -1;

  double bytes_per_token = 0;    // model bytes read per decoded token
  double fixed_seconds = 0;      // per-token fixed costs
  double decode_seconds = 0;
  double decode_tok_s = 0;
  double prefill_tok_s = 0;
  double bound_tok_s = 0;        // same bytes at datasheet peak bandwidth, no fixed costs
  std::string bottleneck;
  std::vector<std::string> assumptions;

  bool operator==(const Plan&) const = default;
};

// Throws InputError when the model (plus KV cache and buffers) does not fit the machine.
Plan make_plan(const ModelCatalogue& cat, const MachineProfile& machine, const UsageProfile* usage,
               const PlanOptions& opt);

// Predicted decode tok/s gained by one more GB (1e9 bytes) on each tier: {tier name, delta tok/s}.
std::vector<std::pair<std::string, double>> marginal_gains(const ModelCatalogue& cat, const MachineProfile& machine,
                                                           const UsageProfile* usage, const PlanOptions& opt);

// KV cache bytes per context position (F16 cache; MLA models cache the compressed latent).
uint64_t kv_bytes_per_position(const HParams& hp, TensorType kv_type = TensorType::F16);
// Decode attention's multiply-accumulates per context position over all layers that run: per layer
// n_head x (dk + dv), or for MLA (absorbed, one latent row per position) n_head x (2 kv_lora_rank + n_rot).
double attention_macs_per_position(const HParams& hp);
// Compute buffers beside the KV cache: activations of one micro-batch, its logits, and fixed scratch.
uint64_t work_buffer_bytes(const HParams& hp, const PlanOptions& opt);
// What the planner keeps free on a tier for the OS (system RAM) or the driver (GPU).
uint64_t system_reserve_bytes(const TierSpec& t);

std::string plan_to_json(const Plan& p);
Plan plan_from_json(const std::string& text, const std::string& origin = "<json>");

}  // namespace strata
