// The engine against a naive float64 forward (tiny_model.cpp) on generated models of every
// architecture at sizes beyond the fixtures, and the engine against itself across batch shapes,
// thread counts and cache types.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "ops/thread_pool.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "test_support.h"
#include "util/error.h"
#include "tiny_model.h"

namespace strata::test {
namespace {

std::vector<int32_t> some_tokens(int64_t n, int64_t n_vocab, uint64_t seed) {
  std::vector<int32_t> t(n);
  for (int64_t i = 0; i < n; ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    t[i] = static_cast<int32_t>((seed >> 33) % n_vocab);
  }
  return t;
}

struct EngineOpts {
  TensorType kv = TensorType::F32;
  int threads = 2;
  int64_t n_batch = 512;
  bool one_by_one = false;
};

std::vector<float> engine_logits(const std::string& path, const std::vector<int32_t>& toks, const EngineOpts& o) {
  auto model = Model::load(path);
  ThreadPool pool(o.threads);
  SessionOptions so;
  so.n_ctx = static_cast<int64_t>(toks.size());
  so.kv_type = o.kv;
  so.n_batch = o.n_batch;
  Session s(*model, pool, so);
  if (!o.one_by_one) {
    auto l = s.eval(toks, true);
    return {l.begin(), l.end()};
  }
  std::vector<float> out;
  for (int32_t t : toks) {
    auto l = s.eval(std::span<const int32_t>(&t, 1), false);
    out.insert(out.end(), l.begin(), l.end());
  }
  return out;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

struct Case {
  const char* name;
  TinySpec spec;
  int64_t n_tokens;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  {
    TinySpec s;  // dense llama, context beyond the fixtures' 256
    s.n_ctx = 320;
    c.push_back({"llama_dense_long", s, 300});
  }
  {
    TinySpec s;  // Mixtral-style: 16 experts, top-3, Q8_0 matrices, tied output
    s.n_expert = 16;
    s.n_expert_used = 3;
    s.n_ff_exp = 96;
    s.mat_type = TensorType::Q8_0;
    s.tied_output = true;
    c.push_back({"mixtral_16x3_q8_0", s, 64});
  }
  {
    TinySpec s;  // Mixtral-style with the fused gate_up expert tensor, Q4_0
    s.n_expert = 6;
    s.n_expert_used = 2;
    s.n_ff_exp = 64;
    s.fused_gate_up = true;
    s.mat_type = TensorType::Q4_0;
    c.push_back({"mixtral_fused_gate_up_q4_0", s, 48});
  }
  {
    TinySpec s;  // qwen3moe: head_dim 48 != n_embd / n_head, 12 experts top-4, 3 layers, GQA 6:2
    s.arch = "qwen3moe";
    s.n_head = 6;
    s.n_head_kv = 2;
    s.head_dim = 48;
    s.n_layer = 3;
    s.n_expert = 12;
    s.n_expert_used = 4;
    s.n_ff_exp = 64;
    s.rope_base = 1e6f;
    s.eps = 1e-6f;
    c.push_back({"qwen3moe_12x4", s, 80});
  }
  return c;
}

class Synthetic : public ::testing::TestWithParam<Case> {
 protected:
  std::string path_;
  std::vector<int32_t> toks_;
  void SetUp() override {
    const Case& c = GetParam();
    path_ = write_tiny_model(c.spec, temp_dir() + "/" + c.name + ".gguf");
    toks_ = some_tokens(c.n_tokens, c.spec.n_vocab, 7);
  }
};

TEST_P(Synthetic, MatchesNaiveFloat64Forward) {
  double margin = 0;
  std::vector<float> ref = naive_forward(path_, toks_, &margin);
  std::vector<float> got = engine_logits(path_, toks_, {});
  const float err = max_abs_diff(got, ref);
  std::printf("[ naive    ] %s: max |engine - float64| = %.3g, min routing margin %.3g\n", GetParam().name, err, margin);
  // Same bound as the fixtures' exact files (README: F32 cache + F32 accumulation meets 1e-4), valid
  // here because every routing margin is far above the engine's ~1e-6 error in router probabilities.
  ASSERT_GT(margin, 1e-5) << "routing near-tie: the comparison would not be meaningful for this seed";
  EXPECT_LE(err, 1e-4f);
}

TEST_P(Synthetic, BatchPrefillEqualsTokenByTokenDecode) {
  std::vector<float> batch = engine_logits(path_, toks_, {});
  std::vector<float> single = engine_logits(path_, toks_, {.one_by_one = true});
  std::vector<float> chunked = engine_logits(path_, toks_, {.n_batch = 7});
  // Every output element is the same sequence of float operations whichever way the tokens are
  // grouped (rows are dotted independently; the cache holds the same values), so equality is exact.
  EXPECT_EQ(max_abs_diff(batch, single), 0.0f);
  EXPECT_EQ(max_abs_diff(batch, chunked), 0.0f);
}

TEST_P(Synthetic, ThreadCountDoesNotChangeResults) {
  std::vector<float> a = engine_logits(path_, toks_, {.threads = 1});
  std::vector<float> b = engine_logits(path_, toks_, {.threads = 3});
  EXPECT_EQ(max_abs_diff(a, b), 0.0f);
}

TEST_P(Synthetic, F16CacheStaysClose) {
  std::vector<float> a = engine_logits(path_, toks_, {});
  std::vector<float> b = engine_logits(path_, toks_, {.kv = TensorType::F16});
  // README: rounding K and V to F16 moves these models' logits by up to ~2e-3 (reference vs exact,
  // V only) and suggests 1e-2 when K is rounded too.
  EXPECT_LE(max_abs_diff(a, b), 1e-2f);
}

// A Q8_0 cache moves these models' logits by 0.05-0.23 against the F32 cache (its rms rounding error,
// amax / (127 * 2 * sqrt(3)) with amax ~2.5 sigma over 32 normal values, is ~20x F16's), so it is checked
// against the float64 forward with K and V rounded through the same quantizer instead. What remains is
// the engine's float error (the 1e-4 above) plus the rare value whose float and float64 computations
// round to neighbouring Q8_0 steps (or an F16 scale to neighbouring halves): the 1e-2 the README suggests
// when K is rounded (measured: 2.4e-6 to 1.5e-5, no such neighbours hit). Models whose heads are not
// whole 32-value blocks are refused up front.
TEST_P(Synthetic, Q8_0CacheMatchesTheQuantizedFloat64Forward) {
  const Case& c = GetParam();
  const int64_t dk = c.spec.head_dim ? c.spec.head_dim : c.spec.n_embd / c.spec.n_head;
  if (dk % 32 != 0) {
    EXPECT_THROW(engine_logits(path_, toks_, {.kv = TensorType::Q8_0}), UnsupportedError);
    return;
  }
  std::vector<float> ref = naive_forward(path_, toks_, nullptr, TensorType::Q8_0);
  std::vector<float> got = engine_logits(path_, toks_, {.kv = TensorType::Q8_0});
  std::vector<float> exact = naive_forward(path_, toks_);
  std::printf("[ q8_0 kv  ] %s: max |engine - float64 q8_0| = %.3g (vs unrounded float64 %.3g)\n", c.name,
              max_abs_diff(got, ref), max_abs_diff(got, exact));
  EXPECT_LE(max_abs_diff(got, ref), 1e-2f);
}

INSTANTIATE_TEST_SUITE_P(Archs, Synthetic, ::testing::ValuesIn(cases()),
                         [](const auto& i) { return std::string(i.param.name); });

}  // namespace
}  // namespace strata::test
