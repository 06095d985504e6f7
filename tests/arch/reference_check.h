// Comparison of Strata's logits with the conformance fixtures (../shared/fixtures/reference), shared
// by the per-architecture fixture tests. Tolerances come from the fixtures README, "Measured
// differences and suggested tolerances"; each constant below says which measurement it rests on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace strata::test {

struct ReferenceCase {
  std::string model;  // "llama-dense.Q8_0"
  std::string seq;    // "seq16"
  std::string dir;    // absolute path of reference/<model>
  std::vector<int32_t> prompt;
  std::vector<int32_t> greedy;                 // reference greedy tokens g0..g_{n-1}
  int32_t next_after_last = -1;
  std::vector<std::vector<float>> prompt_top5_logits, decode_top5_logits;
  std::vector<int32_t> prompt_argmax, decode_argmax;
  int n_vocab = 0;
  std::string model_path() const;
  std::string file(const std::string& suffix) const { return dir + "/" + seq + suffix; }
};

// Reads <dir>/<seq>.json. Throws on a malformed file.
ReferenceCase load_reference_case(const std::string& model, const std::string& seq);
// Every (model, seq) under reference/ whose model name starts with one of the prefixes.
std::vector<std::pair<std::string, std::string>> list_reference_cases(const std::vector<std::string>& prefixes);

// Logits of the prompt (evaluated as one batch) and of each reference greedy token decoded one at a
// time, i.e. exactly the rows of <seq>.logits.f32 / .decode.f32.
struct EngineRows {
  std::vector<float> prompt;  // [n_prompt x n_vocab]
  std::vector<float> decode;  // [n_gen x n_vocab]
  int repacked_tensors = 0;   // EngineConfig::repack: how many matrices were interleaved
  int copied_tensors = 0;     // ... and how many were copied to huge pages as they are (the routers)
  int router_tensors = 0;     // router matrices in the catalogue
};
struct EngineConfig {
  bool kv_f32 = true;
  bool quantized_activations = false;
  int threads = 2;
  int64_t n_batch = 512;
  bool repack = false;  // interleave what this CPU's best kernels can (Model::interleave_weights)
};
EngineRows run_engine(const ReferenceCase& rc, const EngineConfig& cfg);

// Load-time repacking (quant/interleave.h) of one case, as GoogleTest expectations: the F32 path over
// interleaved rows must give the plain file's logits bit for bit, and quantized activations must meet the
// README rule against the reference with `per_row` as its tolerance. Skips when nothing of the model
// interleaves on this CPU.
void expect_repack_keeps_results(const std::string& model, const std::string& seq, float per_row);

struct RowStats {
  std::vector<float> row_max;  // per row max |a - b|
  float max = 0;
};
RowStats compare_rows(const std::vector<float>& a, const std::vector<float>& b, int n_vocab);

// The README's rule for quantized models against the reference: per row max |diff| <= per_row, at
// most max(3, 5%) of rows above it, and none above 5.0. Returns "" when it holds, else a description.
std::string quantized_rule(const RowStats& s, float per_row);

// Rows whose reference top1-top2 gap exceeds 2*tol must have the reference's argmax. Returns the
// failures as text ("" when none) and counts the rows checked.
std::string check_argmax(const std::vector<float>& ours, const std::vector<int32_t>& ref_argmax,
                         const std::vector<std::vector<float>>& ref_top5, int n_vocab, float tol, int* checked);

}  // namespace strata::test
