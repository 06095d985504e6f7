// deepseek2 against every deepseek2 reference case of ../shared/fixtures (classic attn_kv_b layout and
// the split attn_k_b/attn_v_b layout, F32 and quantized):
//  1. F32 KV cache, F32 activations vs the float64 "exact" forward, prompt and decode rows, plus a
//     free-running greedy continuation.
//  2. Default engine settings (F16 KV cache) vs the reference implementation's logits and argmax.
//  3. Expert selection and weights of every MoE layer and position vs exact.routing.json.
//  4. Quantized models with 8-bit activations (ggml's arithmetic) vs the reference.
//  5. Prompt as one batch vs token-by-token vs small chunks: identical logits.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>

#include "ops/thread_pool.h"
#include "reference_check.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "test_support.h"

namespace strata::test {
namespace {

bool is_quantized(const std::string& model) { return model.find(".Q") != std::string::npos; }
bool is_low_bit(const std::string& model) {
  return model.find("Q2_K") != std::string::npos || model.find("Q3_K") != std::string::npos;
}

// README "Measured differences": mainline with an F32 cache matches the exact files to <= 5.7e-6 on
// deepseek2-classic, "so an engine with an F32 KV cache and F32 accumulation can be held to 1e-4 against
// the exact files". Quantized weights in ActivationMode::F32 compute the same dequantized model the exact
// files evaluate (dequantization is bit-identical, and the layout-A k_b we derive is an exact F32
// transpose), so the same bound applies to them.
constexpr float kExactTol = 1e-4f;

// Against the reference with our default F16 cache: README "against the references use 5e-3 (or 1e-2 if
// the engine also rounds K to F16)". Our cache row is the latent + k_pe in F16, i.e. K and V are both
// rounded, so 1e-2.
constexpr float kReferenceTol = 1e-2f;

std::vector<std::pair<std::string, std::string>> cases() {
  auto c = list_reference_cases({"deepseek2"});
  if (c.empty()) c.emplace_back("deepseek2-classic", "seq16");  // keeps the suite visibly skipped
  return c;
}

std::string case_name(const ::testing::TestParamInfo<std::pair<std::string, std::string>>& i) {
  std::string s = i.param.first + "_" + i.param.second;
  for (char& ch : s)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

class DeepSeek2Fixture : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(DeepSeek2Fixture, MatchesExactWithF32Cache) {
  const auto& [model, seq] = GetParam();
  STRATA_FIXTURE_OR_SKIP(path, "models/" + model + ".gguf");
  ReferenceCase rc = load_reference_case(model, seq);
  EngineRows r = run_engine(rc, EngineConfig{.kv_f32 = true});
  RowStats p = compare_rows(r.prompt, read_f32_file(rc.file(".exact.logits.f32")), rc.n_vocab);
  RowStats d = compare_rows(r.decode, read_f32_file(rc.file(".exact.decode.f32")), rc.n_vocab);
  RecordProperty("max_err_prompt", std::to_string(p.max));
  RecordProperty("max_err_decode", std::to_string(d.max));
  std::printf("[ exact    ] %s/%s prompt max %.3g decode max %.3g (tol %.0e)\n", model.c_str(), seq.c_str(), p.max,
              d.max, kExactTol);
  EXPECT_LE(p.max, kExactTol) << model << "/" << seq << " prompt rows vs exact";
  EXPECT_LE(d.max, kExactTol) << model << "/" << seq << " decode rows vs exact";
}

int32_t top_gap(const float* row, int n, float* gap) {
  int32_t best = 0;
  for (int i = 1; i < n; ++i)
    if (row[i] > row[best]) best = i;
  float second = -INFINITY;
  for (int i = 0; i < n; ++i)
    if (i != best) second = std::max(second, row[i]);
  *gap = row[best] - second;
  return best;
}

// Our own greedy continuation (each token chosen from our logits, F32 cache) picks the exact forward's
// argmax wherever that row's top-1/top-2 gap exceeds twice kExactTol. The exact rows are conditioned on
// the reference's greedy tokens, so the check runs until our continuation leaves the reference's (which
// happens only for quantized models, where the reference's activation quantization moves its argmax).
TEST_P(DeepSeek2Fixture, FreeRunningGreedyMatchesExact) {
  const auto& [model, seq] = GetParam();
  STRATA_FIXTURE_OR_SKIP(path, "models/" + model + ".gguf");
  ReferenceCase rc = load_reference_case(model, seq);
  const std::vector<float> ep = read_f32_file(rc.file(".exact.logits.f32"));
  const std::vector<float> ed = read_f32_file(rc.file(".exact.decode.f32"));
  auto m = Model::load(rc.model_path());
  ThreadPool pool(2);
  SessionOptions so;
  so.n_ctx = 256;
  so.kv_type = TensorType::F32;
  Session s(*m, pool, so);
  auto l = s.eval(rc.prompt, false);
  int checked = 0;
  size_t k = 0;
  for (; k < rc.greedy.size(); ++k) {
    const int32_t tok = argmax(l);
    const float* erow = k == 0 ? ep.data() + (rc.prompt.size() - 1) * rc.n_vocab : ed.data() + (k - 1) * rc.n_vocab;
    float gap = 0;
    const int32_t want = top_gap(erow, rc.n_vocab, &gap);
    if (gap > 2 * kExactTol) {
      EXPECT_EQ(tok, want) << model << "/" << seq << " greedy token " << k << " (exact gap " << gap << ")";
      ++checked;
    }
    if (tok != rc.greedy[k]) break;
    l = s.eval(std::span<const int32_t>(&tok, 1), false);
  }
  std::printf("[ greedy   ] %s/%s %d tokens checked against exact, %zu of %zu equal to the reference's\n",
              model.c_str(), seq.c_str(), checked, k, rc.greedy.size());
  if (!is_quantized(model)) EXPECT_EQ(k, rc.greedy.size()) << "F32 models must reproduce the whole continuation";
}

// For quantized models, rows the README's rule lets exceed the per-row tolerance are the reference's
// routing flips (e.g. deepseek2-kbvb.Q4_K/seq16 decode row 6: reference 2.23 off the exact forward, its
// argmax 1 where the exact forward has 81); their argmax is checked against the exact forward instead.
std::string check_argmax_quantized(const std::vector<float>& ours, const RowStats& vs_ref, const std::vector<float>& exact,
                                   const std::vector<int32_t>& ref_argmax,
                                   const std::vector<std::vector<float>>& ref_top5, int n_vocab, float tol,
                                   int* checked) {
  std::string fails;
  *checked = 0;
  for (size_t r = 0; r < ref_argmax.size(); ++r) {
    const int32_t a = argmax(std::span<const float>(ours.data() + r * n_vocab, n_vocab));
    int32_t want;
    float gap;
    if (vs_ref.row_max[r] > tol) {
      // This run uses the F16 cache, which moves our logits up to kReferenceTol from the exact ones.
      want = top_gap(exact.data() + r * n_vocab, n_vocab, &gap);
      if (gap <= 2 * kReferenceTol) continue;
    } else {
      want = ref_argmax[r];
      if (ref_top5[r][0] - ref_top5[r][1] <= 2 * tol) continue;
    }
    ++*checked;
    if (a != want) fails += " row " + std::to_string(r) + ": ours " + std::to_string(a) + " want " + std::to_string(want) + ";";
  }
  return fails;
}

TEST_P(DeepSeek2Fixture, MatchesReferenceWithDefaultCache) {
  const auto& [model, seq] = GetParam();
  STRATA_FIXTURE_OR_SKIP(path, "models/" + model + ".gguf");
  ReferenceCase rc = load_reference_case(model, seq);
  EngineRows r = run_engine(rc, EngineConfig{.kv_f32 = false});
  RowStats p = compare_rows(r.prompt, read_f32_file(rc.file(".logits.f32")), rc.n_vocab);
  RowStats d = compare_rows(r.decode, read_f32_file(rc.file(".decode.f32")), rc.n_vocab);
  std::printf("[ reference] %s/%s prompt max %.3g decode max %.3g\n", model.c_str(), seq.c_str(), p.max, d.max);
  float tol;
  if (is_quantized(model)) {
    // README's rule for quantized models: per row <= 0.5 (Q2_K/Q3_K) or 0.35, at most max(3, 5%) of the
    // rows above, none above 5.0 (prompt and decode rows of one sequence together). The reference
    // quantizes activations to 8 bits and flips near-tied routings; we do neither in F32 mode.
    tol = is_low_bit(model) ? 0.5f : 0.35f;
    RowStats all = p;
    all.row_max.insert(all.row_max.end(), d.row_max.begin(), d.row_max.end());
    EXPECT_EQ(quantized_rule(all, tol), "") << model << "/" << seq;
  } else {
    tol = kReferenceTol;
    EXPECT_LE(p.max, tol) << model << "/" << seq << " prompt rows vs reference";
    EXPECT_LE(d.max, tol) << model << "/" << seq << " decode rows vs reference";
  }
  int checked_p = 0, checked_d = 0;
  if (is_quantized(model)) {
    const auto ep = read_f32_file(rc.file(".exact.logits.f32")), ed = read_f32_file(rc.file(".exact.decode.f32"));
    EXPECT_EQ(check_argmax_quantized(r.prompt, p, ep, rc.prompt_argmax, rc.prompt_top5_logits, rc.n_vocab, tol,
                                     &checked_p), "");
    EXPECT_EQ(check_argmax_quantized(r.decode, d, ed, rc.decode_argmax, rc.decode_top5_logits, rc.n_vocab, tol,
                                     &checked_d), "");
  } else {
    EXPECT_EQ(check_argmax(r.prompt, rc.prompt_argmax, rc.prompt_top5_logits, rc.n_vocab, tol, &checked_p), "");
    EXPECT_EQ(check_argmax(r.decode, rc.decode_argmax, rc.decode_top5_logits, rc.n_vocab, tol, &checked_d), "");
  }
  std::printf("[ argmax   ] %s/%s checked %d prompt + %d decode rows\n", model.c_str(), seq.c_str(), checked_p,
              checked_d);
}

// With activations quantized to 8 bits as ggml does (ActivationMode::Quantized), quantized models still
// meet the README's rule against the reference, whose arithmetic this mode imitates.
TEST_P(DeepSeek2Fixture, QuantizedActivationsMeetReferenceRule) {
  const auto& [model, seq] = GetParam();
  STRATA_FIXTURE_OR_SKIP(path, "models/" + model + ".gguf");
  if (!is_quantized(model)) GTEST_SKIP() << "F32 weights: activations are never quantized";
  ReferenceCase rc = load_reference_case(model, seq);
  EngineRows r = run_engine(rc, EngineConfig{.kv_f32 = false, .quantized_activations = true});
  RowStats all = compare_rows(r.prompt, read_f32_file(rc.file(".logits.f32")), rc.n_vocab);
  const RowStats d = compare_rows(r.decode, read_f32_file(rc.file(".decode.f32")), rc.n_vocab);
  std::printf("[ q-act    ] %s/%s prompt max %.3g decode max %.3g\n", model.c_str(), seq.c_str(), all.max, d.max);
  all.row_max.insert(all.row_max.end(), d.row_max.begin(), d.row_max.end());
  EXPECT_EQ(quantized_rule(all, is_low_bit(model) ? 0.5f : 0.35f), "") << model << "/" << seq;
}

// Repacking leaves MLA's per-head k_b/v_b (and attn_kv_b) plain and interleaves the rest; results as in
// FixtureTest.RepackedWeightsKeepTheResults (tests/arch/fixtures_test.cpp).
TEST_P(DeepSeek2Fixture, RepackedWeightsKeepTheResults) {
  const auto& [model, seq] = GetParam();
  STRATA_FIXTURE_OR_SKIP(path, "models/" + model + ".gguf");
  if (!is_quantized(model)) GTEST_SKIP() << "unquantized weights are never interleaved";
  expect_repack_keeps_results(model, seq, is_low_bit(model) ? 0.5f : 0.35f);
}

// Reads a dump file written by TensorDumper: rows of `width` floats.
std::vector<float> read_dump(const std::string& dir, const std::string& name) {
  return read_f32_file(dir + "/" + name + ".f32");
}

TEST_P(DeepSeek2Fixture, RoutingMatchesExact) {
  const auto& [model, seq] = GetParam();
  STRATA_FIXTURE_OR_SKIP(path, "models/" + model + ".gguf");
  ReferenceCase rc = load_reference_case(model, seq);
  std::ifstream f(rc.file(".exact.routing.json"));
  ASSERT_TRUE(f) << "missing " << rc.file(".exact.routing.json");
  const nlohmann::json j = nlohmann::json::parse(f);

  const std::string dir = temp_dir();
  {
    auto m = Model::load(rc.model_path());
    ThreadPool pool(2);
    SessionOptions so;
    so.n_ctx = 256;
    so.kv_type = TensorType::F32;
    so.dump_dir = dir;
    Session s(*m, pool, so);
    s.eval(rc.prompt, true);
    for (int32_t t : rc.greedy) s.eval(std::span<const int32_t>(&t, 1), false);
  }

  // Our router probabilities are within ~1e-6 of float64 (F32 model, F32 router); a position whose
  // k-th/(k+1)-th margin is below 1e-5 could legitimately flip, so its set is not compared (none of the
  // F32 fixtures has one: README min margin 1.2e-4; the quantized ones go down to 1.3e-6).
  constexpr double kMarginFloor = 1e-5;
  // Final weights (~0.5-0.7 after x2.5) carry the same ~1e-6 relative error.
  constexpr float kWeightTol = 1e-5f;
  int compared = 0, skipped = 0;
  for (const auto& [layer, rows] : j.at("layers").items()) {
    const std::vector<float> ids = read_dump(dir, layer + ".ffn_moe_ids");
    const std::vector<float> wts = read_dump(dir, layer + ".ffn_moe_weights");
    const size_t n_pos = rows.size();
    ASSERT_EQ(n_pos, rc.prompt.size() + rc.greedy.size());
    const size_t k = rows[0].at("experts").size();
    ASSERT_EQ(ids.size(), n_pos * k) << layer;
    for (size_t p = 0; p < n_pos; ++p) {
      const auto& row = rows[p];
      if (row.at("margin").get<double>() < kMarginFloor) {
        ++skipped;
        continue;
      }
      std::map<int, float> want, got;
      for (size_t i = 0; i < k; ++i) {
        want[row.at("experts")[i].get<int>()] = row.at("weights")[i].get<float>();
        got[static_cast<int>(ids[p * k + i])] = wts[p * k + i];
      }
      ASSERT_EQ(want.size(), got.size());
      for (const auto& [e, wv] : want) {
        auto it = got.find(e);
        ASSERT_NE(it, got.end()) << layer << " position " << p << ": expert " << e << " not selected";
        EXPECT_NEAR(it->second, wv, kWeightTol) << layer << " position " << p << " expert " << e;
      }
      ++compared;
    }
  }
  std::printf("[ routing  ] %s/%s %d positions compared, %d near-ties skipped\n", model.c_str(), seq.c_str(), compared,
              skipped);
  EXPECT_GT(compared, 0);
}

// A prompt evaluated as one batch, one token at a time, or in chunks of 5 gives identical logits: every
// output is the same sequence of float operations however the tokens are grouped.
TEST_P(DeepSeek2Fixture, BatchPrefillEqualsTokenByTokenDecode) {
  const auto& [model, seq] = GetParam();
  STRATA_FIXTURE_OR_SKIP(path, "models/" + model + ".gguf");
  if (seq != "seq16") GTEST_SKIP() << "checked on the short sequences only (time)";
  ReferenceCase rc = load_reference_case(model, seq);
  EngineRows batch = run_engine(rc, EngineConfig{.kv_f32 = false});
  EngineRows chunked = run_engine(rc, EngineConfig{.kv_f32 = false, .n_batch = 5});
  auto m = Model::load(rc.model_path());
  ThreadPool pool(2);
  SessionOptions so;
  so.n_ctx = 256;
  Session s(*m, pool, so);
  std::vector<float> single;
  for (int32_t t : rc.prompt) {
    auto l = s.eval(std::span<const int32_t>(&t, 1), false);
    single.insert(single.end(), l.begin(), l.end());
  }
  EXPECT_EQ(compare_rows(batch.prompt, single, rc.n_vocab).max, 0.0f);
  EXPECT_EQ(compare_rows(batch.prompt, chunked.prompt, rc.n_vocab).max, 0.0f);
  EXPECT_EQ(compare_rows(batch.decode, chunked.decode, rc.n_vocab).max, 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Reference, DeepSeek2Fixture, ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace strata::test
