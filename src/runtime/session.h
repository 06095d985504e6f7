// One conversation's state: the KV cache, activation workspace and counters. A prompt is evaluated as
// batches (matrix-matrix), then tokens one at a time; both paths are the same forward call.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/arch/arch.h"
#include "ops/compute.h"
#include "ops/thread_pool.h"
#include "runtime/model.h"

namespace strata {

struct SessionOptions {
  int64_t n_ctx = 0;                     // 0: the model's training context, capped at 4096
  TensorType kv_type = TensorType::F16;  // F16, F32 or Q8_0
  int64_t n_batch = 512;                 // most tokens per forward call
  // F32 is the bit-reproducible reference (the library default the arch tests rely on); front ends
  // default to Quantized, the fast integer kernels.
  ActivationMode act_mode = ActivationMode::F32;
  std::string dump_dir;                  // non-empty: dump named activations there
  bool record_usage = false;             // count expert selections per (layer, expert)
  uint64_t memory_budget = 0;            // bytes the KV cache may use; 0: MemAvailable of the machine
};

class Session {
 public:
  // Throws InputError when the KV cache for n_ctx cannot fit, with the sizes involved.
  Session(Model& model, ComputeContext& compute, SessionOptions opts);
  // With a bare pool the kernels are the best level this CPU runs (detected here).
  Session(Model& model, ThreadPool& pool, SessionOptions opts);

  // Evaluates tokens at positions n_past() .. n_past() + n - 1. Returns logits: n rows of n_vocab if
  // all_logits, else one row (the last token's). The span is valid until the next call.
  std::span<const float> eval(std::span<const int32_t> tokens, bool all_logits = false);

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return opts_.n_ctx; }
  int64_t n_vocab() const { return model_.hparams().n_vocab; }
  void reset() { n_past_ = 0; }
  // Forgets positions >= n (0 <= n <= n_past()); they are overwritten by the next eval. Lets a chat keep
  // the common prefix of the cache when a conversation re-renders earlier text differently.
  void truncate(int64_t n);
  const KvCache& kv() const { return *kv_; }
  const ExpertUsage* usage() const { return usage_.get(); }
  // {"model":..., "n_layer":..., "n_expert":..., "counts": [[...], ...]}
  std::string usage_json() const;

 private:
  Session(Model& model, ThreadPool& pool, const cpu::KernelTable* kernels, SessionOptions opts);

  Model& model_;
  ThreadPool& pool_;
  const cpu::KernelTable* kernels_;
  SessionOptions opts_;
  std::unique_ptr<KvCache> kv_;
  Workspace ws_;
  std::unique_ptr<TensorDumper> dumper_;
  std::unique_ptr<ExpertUsage> usage_;
  static constexpr int kScratchLogitsSlot = 63;
  std::vector<float> logits_;
  int64_t n_past_ = 0;
};

// Bytes of memory currently available to this process (MemAvailable), 0 if unknown.
uint64_t available_memory_bytes();

}  // namespace strata
