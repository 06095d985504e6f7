// The attention paths in detail, at every kernel level: the prompt path (queries in blocks, every chunk
// of 256 positions in one task) and the decode path (one query, its chunks split over tasks and merged)
// give bit-identical results for the same query; results do not depend on the thread count; every level
// stays within a tight bound of the baseline build and of a double-precision softmax; shapes cover GQA
// ratios 1 to 8 and odd ones (3, 6, 12), head widths that are not multiples of 16, dk != dv, and MLA
// spans (V = the first dv elements of the K row, one KV head, 16 query heads), for F16, F32 and Q8_0
// caches (the reference is computed on the values as the cache returns them).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/kernels.h"
#include "ops/attention.h"
#include "ops/kv_cache.h"
#include "ops/thread_pool.h"
#include "ops_test_support.h"

namespace strata {
namespace {

using test::randn;

std::vector<const cpu::KernelTable*> levels() {
  std::vector<const cpu::KernelTable*> out{nullptr};
  const cpu::CpuFeatures f = cpu::detect_cpu_features();
  for (cpu::IsaLevel l : {cpu::IsaLevel::Avx2, cpu::IsaLevel::Avx512})
    if (f.supports(l)) out.push_back(&cpu::select_kernels(l));
  return out;
}

const char* level_name(const cpu::KernelTable* k) { return k ? cpu::isa_name(k->level) : "baseline"; }

struct Case {
  const char* name;
  int64_t H, Hkv, dk, dv;
  bool mla;  // one KV head; V = the first dv elements of each K row (dv <= dk)
};

// A cache of n_ctx positions, all written, and the span pair attention reads.
struct Fixture {
  Case c;
  TensorType type;
  int64_t n_ctx;
  KvCache kv;
  std::vector<float> K, V;  // as stored: rounded to F16 or quantized to Q8_0 and read back

  Fixture(const Case& c_, TensorType t, int64_t n, uint32_t seed)
      : c(c_), type(t), n_ctx(n),
        kv(t, n, {KvLayerLayout{c_.Hkv * c_.dk, c_.mla ? 0 : c_.Hkv * c_.dv}}) {
    K = randn(n * c.Hkv * c.dk, seed);
    kv.store_k(0, 0, mat(K.data(), n, c.Hkv * c.dk));
    for (int64_t j = 0; j < n; ++j) kv.load_k(0, j, K.data() + j * c.Hkv * c.dk);
    if (!c.mla) {
      V = randn(n * c.Hkv * c.dv, seed + 1);
      kv.store_v(0, 0, mat(V.data(), n, c.Hkv * c.dv));
      for (int64_t j = 0; j < n; ++j) kv.load_v(0, j, V.data() + j * c.Hkv * c.dv);
    }
  }
  KvSpan k() const { return kv.k_span(0, 0, c.mla ? 0 : c.dk); }
  KvSpan v() const { return c.mla ? kv.k_span(0, 0, 0) : kv.v_span(0, 0, c.dv); }
  AttentionParams params() const {
    return AttentionParams{c.H, c.Hkv, c.dk, c.dv, 1.0f / std::sqrt(static_cast<float>(c.dk))};
  }
  float key(int64_t j, int64_t g, int64_t i) const { return K[(j * c.Hkv + g) * c.dk + i]; }
  float value(int64_t j, int64_t g, int64_t i) const {
    return c.mla ? K[j * c.dk + i] : V[(j * c.Hkv + g) * c.dv + i];
  }

  // Double-precision softmax attention of query row q (all heads) at position pos.
  std::vector<double> naive(const float* q, int32_t pos) const {
    const AttentionParams p = params();
    std::vector<double> out(c.H * c.dv);
    for (int64_t h = 0; h < c.H; ++h) {
      const int64_t g = h / (c.H / c.Hkv);
      std::vector<double> s(pos + 1);
      double mx = -1e300, z = 0;
      for (int64_t j = 0; j <= pos; ++j) {
        double d = 0;
        for (int64_t i = 0; i < c.dk; ++i) d += double(q[h * c.dk + i]) * key(j, g, i);
        mx = std::max(mx, s[j] = d * p.scale);
      }
      for (auto& x : s) z += (x = std::exp(x - mx));
      for (int64_t i = 0; i < c.dv; ++i) {
        double o = 0;
        for (int64_t j = 0; j <= pos; ++j) o += s[j] / z * value(j, g, i);
        out[h * c.dv + i] = o;
      }
    }
    return out;
  }
};

const Case kCases[] = {
    {"mha_d64", 3, 3, 64, 64, false},          // group 1 (one head per vector lane group)
    {"gqa4_d128", 8, 2, 128, 128, false},      // group 4
    {"gqa8_d128", 16, 2, 128, 128, false},     // group 8: the qwen3 shape per KV head
    {"gqa3_odd", 6, 2, 24, 20, false},         // odd group, widths not multiples of 16
    {"gqa2_dk40_dv72", 4, 2, 40, 72, false},   // group 2, dk != dv
    {"gqa6", 12, 2, 32, 48, false},            // group 6: head pairs plus a single
    {"gqa12", 12, 1, 48, 32, false},           // group 12: quads in pairs plus a single
    {"mla16", 16, 1, 72, 64, true},            // MLA: latent + rope key, value = latent
    {"mla16_blocks", 16, 1, 96, 64, true},     // MLA in whole 32-value blocks (Q8_0 caches)
    {"gqa6_d96", 12, 2, 96, 32, false},        // group 6, dk != dv, whole blocks
};

// A Q8_0 cache holds heads of whole 32-value blocks only (attention refuses the others).
bool fits(const Case& c, TensorType t) { return t != TensorType::Q8_0 || (c.dk % 32 == 0 && c.dv % 32 == 0); }
const char* type_label(TensorType t) {
  return t == TensorType::F16 ? "F16" : t == TensorType::Q8_0 ? "Q8_0" : "F32";
}

// Positions of a prompt batch: inside the first block, on block and chunk edges, several chunks in.
const int32_t kPositions[] = {0, 1, 31, 32, 33, 255, 256, 257, 300, 511, 512, 600, 767, 768, 770};
constexpr int64_t kCtx = 771;

class AttentionPaths : public ::testing::TestWithParam<TensorType> {};

TEST_P(AttentionPaths, DecodeSplitEqualsPromptBatchBitwiseAndMatchesNaive) {
  const TensorType type = GetParam();
  for (const Case& c : kCases) {
    if (!fits(c, type)) continue;
    Fixture fx(c, type, kCtx, 31);
    const AttentionParams p = fx.params();
    const int64_t n_tok = static_cast<int64_t>(std::size(kPositions));
    const auto Q = randn(n_tok * c.H * c.dk, 37, 0.8f);
    const Mat q = mat(const_cast<float*>(Q.data()), n_tok, c.H * c.dk);
    std::vector<std::vector<double>> ref;
    for (int64_t t = 0; t < n_tok; ++t) ref.push_back(fx.naive(Q.data() + t * c.H * c.dk, kPositions[t]));
    std::vector<float> baseline;
    for (const cpu::KernelTable* k : levels()) {
      SCOPED_TRACE(std::string(c.name) + " " + level_name(k) + " " + type_label(type));
      ThreadPool pool2(2);
      std::vector<float> batch(n_tok * c.H * c.dv);
      attention(pool2, p, q, kPositions, fx.k(), fx.v(), mat(batch.data(), n_tok, c.H * c.dv), k);
      // Token by token (the decode path: chunks split over tasks), at 1, 2 and 3 threads.
      for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        std::vector<float> single(n_tok * c.H * c.dv);
        for (int64_t t = 0; t < n_tok; ++t)
          attention(pool, p, mat(const_cast<float*>(Q.data()) + t * c.H * c.dk, 1, c.H * c.dk), kPositions + t,
                    fx.k(), fx.v(), mat(single.data() + t * c.H * c.dv, 1, c.H * c.dv), k);
        ASSERT_EQ(batch, single) << threads << " threads";
      }
      // Against double precision: the outputs are convex combinations of N(0, 1) values.
      for (int64_t t = 0; t < n_tok; ++t)
        for (int64_t i = 0; i < c.H * c.dv; ++i)
          ASSERT_NEAR(batch[t * c.H * c.dv + i], ref[t][i], 2e-5) << "pos " << kPositions[t] << " element " << i;
      // Against the baseline build: float summation order only.
      if (!k) {
        baseline = batch;
      } else {
        for (size_t i = 0; i < batch.size(); ++i) ASSERT_NEAR(batch[i], baseline[i], 1e-5) << "element " << i;
      }
    }
  }
}

// Batches of different sizes and starting positions (queries of one batch reading different numbers of
// blocks and chunks) give each query the bits it gets alone.
TEST_P(AttentionPaths, AnyBatchSplitGivesTheSameBits) {
  const TensorType type = GetParam();
  const Case c{"gqa8", 16, 2, 128, 96, false};
  const int64_t n = 530;
  Fixture fx(c, type, n, 41);
  const AttentionParams p = fx.params();
  const auto Q = randn(n * c.H * c.dk, 43, 0.8f);
  std::vector<int32_t> pos(n);
  for (int64_t t = 0; t < n; ++t) pos[t] = static_cast<int32_t>(t);
  ThreadPool pool(2);
  for (const cpu::KernelTable* k : levels()) {
    SCOPED_TRACE(level_name(k));
    std::vector<float> whole(n * c.H * c.dv), parts(n * c.H * c.dv);
    attention(pool, p, mat(const_cast<float*>(Q.data()), n, c.H * c.dk), pos.data(), fx.k(), fx.v(),
              mat(whole.data(), n, c.H * c.dv), k);
    // Uneven pieces: 1, 7, 33, 1, 200, ... tokens (a piece of one token takes the decode path).
    const int64_t sizes[] = {1, 7, 33, 1, 200, 2, 17, 1};
    int64_t t0 = 0;
    for (int i = 0; t0 < n; ++i) {
      const int64_t m = std::min<int64_t>(sizes[i % 8], n - t0);
      attention(pool, p, mat(const_cast<float*>(Q.data()) + t0 * c.H * c.dk, m, c.H * c.dk), pos.data() + t0,
                fx.k(), fx.v(), mat(parts.data() + t0 * c.H * c.dv, m, c.H * c.dv), k);
      t0 += m;
    }
    ASSERT_EQ(whole, parts);
  }
}

// A long decode (many chunks, more tasks than threads and a partial last chunk) with the qwen3 shape:
// the split result equals the prompt path's and stays within 2e-5 of double precision.
TEST_P(AttentionPaths, LongDecodeQwen3Shape) {
  const Case c{"qwen3", 32, 4, 128, 128, false};
  const int64_t n = 2600;
  Fixture fx(c, GetParam(), n, 51);
  const AttentionParams p = fx.params();
  const auto Q = randn(2 * c.H * c.dk, 53, 0.8f);
  const int32_t pos[2] = {2599, 1283};
  ThreadPool pool(2);
  for (const cpu::KernelTable* k : levels()) {
    SCOPED_TRACE(level_name(k));
    std::vector<float> batch(2 * c.H * c.dv), single(2 * c.H * c.dv);
    attention(pool, p, mat(const_cast<float*>(Q.data()), 2, c.H * c.dk), pos, fx.k(), fx.v(),
              mat(batch.data(), 2, c.H * c.dv), k);
    for (int t = 0; t < 2; ++t)
      attention(pool, p, mat(const_cast<float*>(Q.data()) + t * c.H * c.dk, 1, c.H * c.dk), pos + t, fx.k(), fx.v(),
                mat(single.data() + t * c.H * c.dv, 1, c.H * c.dv), k);
    ASSERT_EQ(batch, single);
    for (int t = 0; t < 2; ++t) {
      const auto ref = fx.naive(Q.data() + t * c.H * c.dk, pos[t]);
      for (int64_t i = 0; i < c.H * c.dv; ++i) ASSERT_NEAR(single[t * c.H * c.dv + i], ref[i], 2e-5) << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cache, AttentionPaths, ::testing::Values(TensorType::F16, TensorType::F32, TensorType::Q8_0),
                         [](const auto& info) { return type_label(info.param); });

}  // namespace
}  // namespace strata
