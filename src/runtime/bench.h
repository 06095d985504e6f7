// `strata bench`: prefill and decode speed of a model on this machine, set against what the machine
// can do, measured in the same run with the same threads: STREAM-like read bandwidth for decode
// (memory bound) and the int8 dot-product peak for prefill (compute bound), plus the planner's
// predicted decode rate for a DRAM-only machine with the measured bandwidth.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/compute.h"
#include "ops/matmul.h"
#include "runtime/model.h"

namespace strata {

struct BenchOptions {
  int64_t n_prompt = 512;  // prefill tokens (0: skip prefill)
  int64_t n_gen = 128;     // decoded tokens (0: skip decode)
  // Tokens already in the context before decoding starts. With several depths, every rep decodes at
  // each of them back to back, so the comparison between depths pairs runs that saw the same machine.
  std::vector<int64_t> depths{0};
  int reps = 3;
  ActivationMode act_mode = ActivationMode::Quantized;
  TensorType kv_type = TensorType::F16;
  uint64_t seed = 1;
  uint64_t stream_bytes = 0;  // STREAM buffer; 0: max(1 GiB, 4 x LLC)
  double stream_seconds = 0.5;
};

struct Stat {
  double median = 0, min = 0, max = 0;
  std::vector<double> values;
};
Stat make_stat(std::vector<double> values);

// Decode at one context depth.
struct DecodeRun {
  int64_t depth = 0;
  Stat tok_s;
  double weight_bytes_per_token = 0;  // non-expert tensors + the experts actually selected
  double kv_bytes_per_token = 0;      // K/V rows attention reads, averaged over the decoded positions
  double bytes_per_token = 0;         // sum of the two
  Stat achieved_bytes_per_s;          // bytes_per_token x decode tok/s, per rep
  Stat stream_bytes_per_s;            // STREAM-like read, measured right after each decode rep
  Stat efficiency;                    // per rep: achieved / that rep's STREAM figure
  // Per rep: tok/s here / tok/s at the first depth of the same rep - 1 (empty for the first depth).
  Stat change_vs_first;
  double predicted_decode_tok_s = 0;       // planner, DRAM-only at the median measured bandwidth
  double predicted_memory_only_tok_s = 0;  // the same without the kernel ceiling and job overheads
};

struct BenchResult {
  std::string model, arch, isa;
  std::string kv_type;  // "F16", "Q8_0", ...
  int threads = 0;
  int64_t n_prompt = 0, n_gen = 0;
  int reps = 0;
  uint64_t model_bytes = 0;
  std::string repack;  // what load-time repacking did (Model::repack), set by the caller
  // Decode, one entry per depth in the order given (empty when n_gen is 0).
  std::vector<DecodeRun> decode;
  double catalogue_bytes_per_token = 0;  // the catalogue's estimate (n_expert_used experts per layer)
  // The same kind of read through the engine's ThreadPool (each thread one contiguous slice, as decode
  // splits rows): shows the pool's hand-off and work split reach the machine's bandwidth.
  double pool_read_bytes_per_s = 0;
  // What the kernels can consume when memory is not the limit: per weight type a decode matvec (nc = 1)
  // over an LLC-resident slice of its largest matrix on all threads, combined by the bytes per token of
  // each type. kernel_decode_type lists the per-type rates.
  double kernel_decode_bytes_per_s = 0;
  std::string kernel_decode_type;
  double pool_job_seconds = 0;        // hand-off of one empty pool job (all threads)
  // Decode attention's multiply-accumulates per second with this model's geometry, K/V read from DRAM.
  double attention_macs_per_s = 0;
  // Prefill.
  Stat prefill_tok_s;
  double macs_per_prompt_token = 0;   // matrix multiply-accumulates per prompt token (weights only)
  Stat prefill_macs_per_s;
  double int8_peak_macs_per_s = 0;
  std::string int8_peak_method;
  double prefill_peak_ratio = 0;      // median prefill MAC rate / int8 peak
};

// Runs reps x (prefill of n_prompt tokens; for each depth, decode of n_gen tokens after filling the
// context to that depth), each on a fresh context. Throws InputError when the context does not fit.
BenchResult run_bench(Model& model, ComputeContext& compute, const BenchOptions& opt);

std::string bench_to_json(const BenchResult& r);
std::string bench_to_text(const BenchResult& r);

}  // namespace strata
