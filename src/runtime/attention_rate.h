// How fast this machine's CPU runs decode attention: one query against an F16 KV cache whose rows come
// from DRAM, as they do in decode (each layer's weights evict the previous layer's K/V from the caches).
// `strata bench` measures it with the model's own shape, `strata probe` with two reference shapes; the
// planner turns it into time per token beyond the KV reads (CpuInfo::attention_macs_per_s).
#pragma once

#include <cstdint>

#include "model/hparams.h"
#include "ops/compute.h"
#include "tiers/machine.h"

namespace strata {

struct AttentionShape {
  int64_t n_head = 0, n_head_kv = 0, dk = 0, dv = 0;
  bool mla = false;  // absorbed MLA: one latent row per position serves as K, its first dv values as V
};

// Decode attention of this model as the engine runs it (deepseek2: absorbed MLA over kv_lora + rope dims).
AttentionShape attention_shape(const HParams& hp);

// The probe's reference shapes: grouped-query heads as Qwen3-30B-A3B (32 heads over 4 KV heads of 128)
// and absorbed MLA as Kimi K2 / DeepSeek-V3 (64 heads over one 576-wide latent row, 512 of it values).
inline constexpr AttentionShape kGqaReferenceShape{32, 4, 128, 128, false};
inline constexpr AttentionShape kMlaReferenceShape{64, 1, 576, 512, true};

inline constexpr int64_t kAttentionRatePositions = 4096;

// Multiply-accumulates per second (n_head x (dk + dv) per position, as the planner counts them) of one
// query at position kAttentionRatePositions - 1, on all of compute's threads, over as many layers' worth
// of cache as `buffer_bytes` holds (0: max(1 GiB, 4 x LLC)); best of 3 passes. 0 for a shape it cannot run.
double measure_attention_rate(ComputeContext& compute, const AttentionShape& shape, uint64_t buffer_bytes = 0);

// Measures both reference shapes on p.cpu.threads threads into p.cpu (attention_macs_per_s,
// mla_attention_macs_per_s) and adds a note; quick: a smaller buffer (max(512 MiB, 2 x LLC)).
void add_attention_rates(MachineProfile& p, bool quick);

}  // namespace strata
