// Every op against a naive double-precision implementation written out in the test.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <utility>
#include <cmath>
#include <numeric>
#include <string>
#include <random>
#include <stdexcept>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/kernels.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/kv_cache.h"
#include "ops/matmul.h"
#include "ops/moe_routing.h"
#include "ops/rope.h"
#include "ops/thread_pool.h"
#include "ops_test_support.h"
#include "quant/legacy.h"
#include "util/error.h"
#include "util/fp16.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

namespace strata {
namespace {

using test::randn;

TEST(ThreadPool, RunsEveryTaskOnceAndPropagatesErrors) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  pool.run(1000, [&](int64_t t, int thread) {
    ASSERT_GE(thread, 0);
    ASSERT_LT(thread, 3);
    hits[t]++;
  });
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_THROW(pool.run(100, [](int64_t t, int) { if (t == 37) throw std::runtime_error("x"); }), std::runtime_error);
  // Still usable after an error.
  std::atomic<int64_t> sum{0};
  pool.parallel_for(1001, 10, [&](int64_t b, int64_t e, int) { for (int64_t i = b; i < e; ++i) sum += i; });
  EXPECT_EQ(sum.load(), 1000 * 1001 / 2);
}

TEST(ThreadPool, TooManyThreadsIsAnInputError) {
  EXPECT_THROW(ThreadPool(ThreadPool::kMaxThreads + 1), InputError);
}

// In a child process: leaves 1 GiB of address space, too little for 2000 thread stacks, and exits 0 when
// the pool reports the refusal as Error naming the count.
[[noreturn]] void start_threads_with_little_address_space() {
  uint64_t pages = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%" SCNu64, &pages) != 1) pages = 0;
    std::fclose(f);
  }
  const rlim_t limit = static_cast<rlim_t>(pages) * 4096 + (rlim_t{1} << 30);
  rlimit rl{};
  rl.rlim_cur = rl.rlim_max = limit;
  if (pages == 0 || setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
  try {
    ThreadPool pool(2000);
  } catch (const InputError&) {
    _exit(2);
  } catch (const Error& e) {
    _exit(std::string(e.what()).find("cannot start 2000 threads") != std::string::npos ? 0 : 4);
  }
  _exit(1);  // all 2000 started: the limit did not bite
}

// When the OS refuses a thread, the pool stops the ones it started and throws Error; it does not abort.
TEST(ThreadPool, ThreadsTheSystemRefusesAreAnErrorNotAnAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(start_threads_with_little_address_space(), ::testing::ExitedWithCode(0), "");
}

// Every type with a dequantizer and quantizer: matmul (F32 activations) equals the double dot of
// dequantized rows up to float accumulation error.
TEST(Matmul, EveryComputableTypeMatchesDequantizedDot) {
  const int64_t n_in = 256, n_out = 37, n_tok = 5;
  ThreadPool pool(2);
  auto x = randn(n_in * n_tok, 2);
  int tested = 0;
  for (uint32_t id = 0; id < 64; ++id) {
    const TypeTraits* t = find_type(id);
    if (!t || !t->dequantize || !t->quantize || t->type == TensorType::Q8_K || t->type == TensorType::Q8_1) continue;
    if (n_in % t->block_elems) continue;
    auto wf = randn(n_in * n_out, 1, 0.1f);
    std::vector<uint8_t> wq(row_bytes(*t, n_in) * n_out);
    t->quantize(wf.data(), wq.data(), n_in * n_out);
    std::vector<float> deq(n_in * n_out);
    t->dequantize(wq.data(), deq.data(), n_in * n_out);
    WeightView w{t, {n_in, n_out, 1, 1}, wq.data(), wq.size(), "w"};
    std::vector<float> y(n_tok * n_out);
    matmul(pool, w, mat(x.data(), n_tok, n_in), mat(y.data(), n_tok, n_out));
    for (int64_t i = 0; i < n_tok; ++i)
      for (int64_t r = 0; r < n_out; ++r) {
        double ref = 0, mag = 0;
        for (int64_t c = 0; c < n_in; ++c) {
          ref += static_cast<double>(deq[r * n_in + c]) * x[i * n_in + c];
          mag += std::fabs(static_cast<double>(deq[r * n_in + c]) * x[i * n_in + c]);
        }
        // Float accumulation of 256 products: relative to sum |w a| well under 1e-6.
        ASSERT_NEAR(y[i * n_out + r], ref, 1e-6 * mag + 1e-7) << t->name << " row " << r;
      }
    ++tested;
  }
  EXPECT_GE(tested, 2);
}

// Activations quantized to the partner type: the README measures |mul_mat - dot_deq_f64| relative to
// |w|*|a| at 6e-4..1e-3 for 8-bit activation types (2.5e-3..6e-3 for IQ4_XS); 1e-2 bounds all.
TEST(Matmul, QuantizedActivationsStayWithinTheReadmeBound) {
  const int64_t n_in = 512, n_out = 16, n_tok = 3;
  ThreadPool pool(2);
  auto x = randn(n_in * n_tok, 4);
  int tested = 0;
  for (uint32_t id = 2; id < 64; ++id) {
    const TypeTraits* t = find_type(id);
    if (!t || !t->dequantize || !t->quantize || !t->vec_dot) continue;
    const TypeTraits* p = find_type(static_cast<uint32_t>(t->vec_dot_type));
    if (!p || !p->quantize || n_in % t->block_elems || t->type == t->vec_dot_type) continue;
    auto wf = randn(n_in * n_out, 3, 0.1f);
    std::vector<uint8_t> wq(row_bytes(*t, n_in) * n_out);
    t->quantize(wf.data(), wq.data(), n_in * n_out);
    std::vector<float> deq(n_in * n_out);
    t->dequantize(wq.data(), deq.data(), n_in * n_out);
    WeightView w{t, {n_in, n_out, 1, 1}, wq.data(), wq.size(), "w"};
    std::vector<float> y(n_tok * n_out);
    matmul(pool, w, mat(x.data(), n_tok, n_in), mat(y.data(), n_tok, n_out), ActivationMode::Quantized);
    for (int64_t i = 0; i < n_tok; ++i)
      for (int64_t r = 0; r < n_out; ++r) {
        double ref = 0, nw = 0, na = 0;
        for (int64_t c = 0; c < n_in; ++c) {
          ref += static_cast<double>(deq[r * n_in + c]) * x[i * n_in + c];
          nw += deq[r * n_in + c] * deq[r * n_in + c];
          na += x[i * n_in + c] * x[i * n_in + c];
        }
        ASSERT_NEAR(y[i * n_out + r], ref, 1e-2 * std::sqrt(nw * na)) << t->name;
      }
    ++tested;
  }
  if (!tested) GTEST_SKIP() << "no type with vec_dot in this build";
}

TEST(Matmul, RejectsShapeMismatch) {
  ThreadPool pool(1);
  std::vector<float> w(64 * 4), x(63), y(4);
  WeightView wv{&type_traits(TensorType::F32), {64, 4, 1, 1}, reinterpret_cast<uint8_t*>(w.data()), w.size() * 4, "w"};
  EXPECT_THROW(matmul(pool, wv, mat(x.data(), 1, 63), mat(y.data(), 1, 4)), Error);
}

TEST(Elementwise, RmsNormSoftmaxSwiglu) {
  auto x = randn(300, 5, 3.0f);
  auto w = randn(300, 6);
  std::vector<float> y(300);
  rms_norm(x.data(), w.data(), 300, 1e-5f, y.data());
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double s = 1 / std::sqrt(ss / 300 + 1e-5);
  for (int i = 0; i < 300; ++i) EXPECT_NEAR(y[i], x[i] * s * w[i], 1e-5 * std::fabs(x[i] * s * w[i]) + 1e-7);

  std::vector<float> p = {1000.0f, 1001.0f, 999.0f, -5.0f};
  softmax(p.data(), 4);
  const double e0 = std::exp(-1.0), e2 = std::exp(-2.0), e3 = std::exp(-1006.0), z = e0 + 1 + e2 + e3;
  EXPECT_NEAR(p[0], e0 / z, 1e-7);
  EXPECT_NEAR(p[1], 1 / z, 1e-7);
  EXPECT_NEAR(p[2], e2 / z, 1e-7);

  std::vector<float> g = {-2.0f, 0.0f, 3.0f}, u = {1.0f, 5.0f, 2.0f};
  swiglu(g.data(), u.data(), 3);
  EXPECT_NEAR(g[0], -2.0 / (1 + std::exp(2.0)), 1e-6);
  EXPECT_EQ(g[1], 0.0f);
  EXPECT_NEAR(g[2], 2 * 3.0 / (1 + std::exp(-3.0)), 1e-5);
}

void naive_rope(std::vector<double>& v, int64_t n_rot, int64_t pos, double base, bool neox, double scale_theta = 1) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const double th = pos * std::pow(base, -2.0 * i / n_rot) * scale_theta;
    const int64_t a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
    const double x0 = v[a], x1 = v[b];
    v[a] = x0 * std::cos(th) - x1 * std::sin(th);
    v[b] = x0 * std::sin(th) + x1 * std::cos(th);
  }
}

TEST(Rope, NormalAndNeoxMatchTheDefinition) {
  for (bool neox : {false, true}) {
    const int64_t hd = 16, n_rot = 12, heads = 3;
    RopeParams rp;
    rp.n_rot = n_rot;
    rp.mode = neox ? RopeMode::Neox : RopeMode::Normal;
    rp.freq_base = 500.0f;
    std::vector<int32_t> pos = {0, 7, 250};
    auto x = randn(pos.size() * heads * hd, 9);
    std::vector<float> cs(pos.size() * n_rot);
    rope_table(rp, pos.data(), pos.size(), cs.data());
    auto y = x;
    rope_apply(rp, cs.data(), mat(y.data(), pos.size(), heads * hd), heads, hd);
    for (size_t t = 0; t < pos.size(); ++t)
      for (int64_t h = 0; h < heads; ++h) {
        std::vector<double> v(x.begin() + (t * heads + h) * hd, x.begin() + (t * heads + h + 1) * hd);
        naive_rope(v, n_rot, pos[t], 500.0, neox);
        for (int64_t i = 0; i < hd; ++i) EXPECT_NEAR(y[(t * heads + h) * hd + i], v[i], 2e-6) << neox << " " << i;
      }
  }
}

// YaRN with the deepseek2 fixture's settings (README): factor 4, original context 64, n_rot 64,
// base 1e4, beta 32/1 give low = 0, high = 9; pair 0 keeps the original frequency, pairs >= 9 are
// fully interpolated; attn_factor = 1/(1 + 0.1 ln 4) makes cos/sin unit magnitude.
TEST(Rope, YarnRampAndMagnitude) {
  RopeParams rp;
  rp.n_rot = 64;
  rp.freq_base = 10000.0f;
  rp.freq_scale = 0.25f;
  rp.ext_factor = 1.0f;
  rp.n_ctx_orig = 64;
  rp.attn_factor = static_cast<float>(1.0 / (1.0 + 0.1 * std::log(4.0)));
  const int32_t pos = 37;
  std::vector<float> cs(64);
  rope_table(rp, &pos, 1, cs.data());
  for (int i = 0; i < 32; ++i) {
    const double extrap = pos * std::pow(10000.0, -2.0 * i / 64), interp = extrap / 4;
    const double ramp = 1 - std::min(1.0, std::max(0.0, (i - 0.0) / 9.0));
    const double th = interp * (1 - ramp) + extrap * ramp;
    EXPECT_NEAR(cs[2 * i], std::cos(th), 1e-6) << i;
    EXPECT_NEAR(cs[2 * i + 1], std::sin(th), 1e-6) << i;
  }
}

class AttentionTest : public ::testing::TestWithParam<TensorType> {};

TEST_P(AttentionTest, GqaMatchesNaiveOverCache) {
  const TensorType kvt = GetParam();
  const int64_t H = 6, Hkv = 2, dk = 24, dv = 16, n_ctx = 40, n_tok = 5, pos0 = 30;
  KvCache kv(kvt, n_ctx, {KvLayerLayout{Hkv * dk, Hkv * dv}});
  auto K = randn(n_ctx * Hkv * dk, 11), V = randn(n_ctx * Hkv * dv, 12), Q = randn(n_tok * H * dk, 13);
  kv.store_k(0, 0, mat(K.data(), pos0 + n_tok, Hkv * dk));
  kv.store_v(0, 0, mat(V.data(), pos0 + n_tok, Hkv * dv));
  std::vector<int32_t> pos(n_tok);
  std::iota(pos.begin(), pos.end(), pos0);
  std::vector<float> out(n_tok * H * dv);
  ThreadPool pool(3);
  const float scale = 0.3f;
  attention(pool, AttentionParams{H, Hkv, dk, dv, scale}, mat(Q.data(), n_tok, H * dk), pos.data(),
            kv.k_span(0, 0, dk), kv.v_span(0, 0, dv), mat(out.data(), n_tok, H * dv));
  auto r16 = [&](float v) { return kvt == TensorType::F16 ? fp16_to_fp32(fp32_to_fp16(v)) : v; };
  for (int64_t t = 0; t < n_tok; ++t)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / Hkv);
      std::vector<double> s(pos[t] + 1);
      double mx = -1e300, z = 0;
      for (int64_t j = 0; j <= pos[t]; ++j) {
        double d = 0;
        for (int64_t i = 0; i < dk; ++i) d += double(Q[(t * H + h) * dk + i]) * r16(K[(j * Hkv + g) * dk + i]);
        mx = std::max(mx, s[j] = d * scale);
      }
      for (auto& v : s) z += (v = std::exp(v - mx));
      for (int64_t i = 0; i < dv; ++i) {
        double o = 0;
        for (int64_t j = 0; j <= pos[t]; ++j) o += s[j] / z * r16(V[(j * Hkv + g) * dv + i]);
        EXPECT_NEAR(out[(t * H + h) * dv + i], o, 2e-6);
      }
    }
}

INSTANTIATE_TEST_SUITE_P(Cache, AttentionTest, ::testing::Values(TensorType::F32, TensorType::F16));

TEST(KvCache, RefusesPositionsBeyondContext) {
  KvCache kv(TensorType::F16, 4, {KvLayerLayout{8, 8}});
  std::vector<float> r(8 * 2);
  EXPECT_THROW(kv.store_k(0, 3, mat(r.data(), 2, 8)), InputError);
  EXPECT_THROW(KvCache(TensorType::Q4_0, 4, {KvLayerLayout{8, 8}}), UnsupportedError);
  EXPECT_EQ(KvCache::bytes_needed(TensorType::F16, 10, {KvLayerLayout{576, 0}, KvLayerLayout{576, 0}}), 10u * 2 * 576 * 2);
}

// Storing through a level's F16 converter writes the bits the scalar rounding writes: ties, values that
// round to subnormals, to zero and to infinity, NaNs (compared as NaN: quiet bit and payload aside, both
// are NaN), and a row width that is not a multiple of the vector width.
TEST(KvCache, F16StoreThroughKernelsMatchesScalarBits) {
  const int64_t w = 37;
  std::vector<float> row = randn(4 * w, 61, 3.0f);
  const float special[] = {1.0f + 1.0f / 2048,  // a tie between two halves
                           6.0e-8f, 2.9e-8f, 1.0e-9f, 65504.0f, 65520.0f, 1.0e6f, -1.0e6f,
                           -0.0f, std::nanf(""), -std::numeric_limits<float>::infinity(), 5.96e-8f};
  std::copy(std::begin(special), std::end(special), row.begin() + 3);
  KvCache plain(TensorType::F16, 4, {KvLayerLayout{w, w}});
  plain.store_k(0, 0, mat(row.data(), 4, w));
  plain.store_v(0, 0, mat(row.data(), 4, w));
  const cpu::CpuFeatures f = cpu::detect_cpu_features();
  for (cpu::IsaLevel l : {cpu::IsaLevel::Scalar, cpu::IsaLevel::Avx2, cpu::IsaLevel::Avx512}) {
    if (!f.supports(l)) continue;
    SCOPED_TRACE(cpu::isa_name(l));
    KvCache fast(TensorType::F16, 4, {KvLayerLayout{w, w}});
    fast.store_k(0, 0, mat(row.data(), 4, w), &cpu::select_kernels(l));
    fast.store_v(0, 0, mat(row.data(), 4, w), &cpu::select_kernels(l));
    for (const auto& [a, b] : {std::pair{plain.k_span(0, 0, 0), fast.k_span(0, 0, 0)},
                               std::pair{plain.v_span(0, 0, 0), fast.v_span(0, 0, 0)}})
      for (int64_t i = 0; i < 4 * w; ++i) {
        uint16_t x, y;
        std::memcpy(&x, a.data + 2 * i, 2);
        std::memcpy(&y, b.data + 2 * i, 2);
        if (std::isnan(fp16_to_fp32(x))) EXPECT_TRUE(std::isnan(fp16_to_fp32(y))) << i;
        else EXPECT_EQ(x, y) << "element " << i << " = " << row[i];
      }
  }
}

// A Q8_0 cache stores the reference quantizer's blocks whichever level quantizes, reads them back as
// dequantize_q8_0 does, sizes its rows in 34-byte blocks and refuses rows that are not whole blocks.
TEST(KvCache, Q8_0StoresTheReferenceBlocks) {
  const int64_t w = 96;  // three blocks
  std::vector<float> row = randn(4 * w, 67, 2.0f);
  row[5] = 0.0f;
  std::fill(row.begin() + 32, row.begin() + 64, 0.0f);  // an all-zero block (scale 0)
  std::vector<uint8_t> ref(4 * 3 * 34);
  quant::quantize_q8_0(row.data(), ref.data(), 4 * w);
  std::vector<float> back(4 * w);
  quant::dequantize_q8_0(ref.data(), back.data(), 4 * w);
  EXPECT_EQ(KvCache::bytes_needed(TensorType::Q8_0, 4, {KvLayerLayout{w, w}}), 2u * 4 * 3 * 34);
  const cpu::CpuFeatures f = cpu::detect_cpu_features();
  for (cpu::IsaLevel l : {cpu::IsaLevel::Scalar, cpu::IsaLevel::Avx2, cpu::IsaLevel::Avx512}) {
    if (!f.supports(l)) continue;
    SCOPED_TRACE(cpu::isa_name(l));
    KvCache kv(TensorType::Q8_0, 4, {KvLayerLayout{w, w}});
    kv.store_k(0, 0, mat(row.data(), 4, w), &cpu::select_kernels(l));
    kv.store_v(0, 0, mat(row.data(), 4, w), &cpu::select_kernels(l));
    for (const KvSpan& s : {kv.k_span(0, 0, 32), kv.v_span(0, 0, 32)}) {
      EXPECT_EQ(s.row_bytes, 3u * 34);
      EXPECT_EQ(s.bytes_at(64), 2u * 34);
      EXPECT_EQ(0, std::memcmp(s.data, ref.data(), ref.size()));
    }
    std::vector<float> k(w), v(w);
    for (int64_t j = 0; j < 4; ++j) {
      kv.load_k(0, j, k.data());
      kv.load_v(0, j, v.data());
      EXPECT_TRUE(std::equal(k.begin(), k.end(), back.begin() + j * w));
      EXPECT_TRUE(std::equal(v.begin(), v.end(), back.begin() + j * w));
    }
  }
  EXPECT_THROW(KvCache(TensorType::Q8_0, 4, {KvLayerLayout{96, 40}}), UnsupportedError);
  EXPECT_EQ(parse_kv_type("Q8_0", "--kv-type"), TensorType::Q8_0);
  EXPECT_EQ(parse_kv_type("f16", "--kv-type"), TensorType::F16);
  try {
    parse_kv_type("q4_0", "--kv-type");
    FAIL() << "q4_0 accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--kv-type must be f16, f32 or q8_0, got 'q4_0'"), std::string::npos) << e.what();
  }
}

// Attention over a Q8_0 cache whose heads do not start and end on block edges is refused, not misread.
TEST(KvCache, Q8_0AttentionNeedsWholeBlockHeads) {
  KvCache kv(TensorType::Q8_0, 4, {KvLayerLayout{64, 64}});
  std::vector<float> q(4 * 16), out(4 * 16);
  const int32_t pos = 0;
  ThreadPool pool(1);
  const AttentionParams p{4, 4, 16, 16, 0.25f};  // 16-value heads: half blocks
  EXPECT_THROW(attention(pool, p, mat(q.data(), 1, 64), &pos, kv.k_span(0, 0, 16), kv.v_span(0, 0, 16),
                         mat(out.data(), 1, 64)),
               UnsupportedError);
}

TEST(Routing, SoftmaxTopKRenormalised) {
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.5f, 0.3f};
  RoutingParams rp{RouterGating::Softmax, 5, 2, true, 1.0f};
  std::vector<float> scratch(10), w(2);
  std::vector<int32_t> ids(2);
  route_token(rp, logits.data(), nullptr, scratch.data(), ids.data(), w.data());
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 3);
  const double a = std::exp(2.0), b = std::exp(1.5);
  EXPECT_NEAR(w[0], a / (a + b), 1e-6);
  EXPECT_NEAR(w[1], b / (a + b), 1e-6);
}

TEST(Routing, SigmoidSelectionBiasChoosesButDoesNotWeight) {
  std::vector<float> logits = {1.0f, 0.5f, 0.0f, -0.5f};
  std::vector<float> bias = {-1.0f, 0.0f, 0.6f, 0.0f};
  RoutingParams rp{RouterGating::Sigmoid, 4, 2, true, 2.5f};
  std::vector<float> scratch(8), w(2);
  std::vector<int32_t> ids(2);
  route_token(rp, logits.data(), bias.data(), scratch.data(), ids.data(), w.data());
  // sel = sigmoid + bias = {-0.269, 0.622, 1.1, 0.378}
  EXPECT_EQ(ids[0], 2);
  EXPECT_EQ(ids[1], 1);
  auto sg = [](double z) { return 1 / (1 + std::exp(-z)); };
  const double s2 = sg(0.0), s1 = sg(0.5);
  EXPECT_NEAR(w[0], s2 / (s1 + s2) * 2.5, 1e-6);
  EXPECT_NEAR(w[1], s1 / (s1 + s2) * 2.5, 1e-6);
}

TEST(Routing, GroupLimitedTopK) {
  // 4 groups of 2. Group scores (sum of top-2 sel): g0 = .9+.1, g1 = .8+.7, g2 = .95+0, g3 = .2+.2.
  std::vector<float> logits = {0.9f, 0.1f, 0.8f, 0.7f, 0.95f, 0.0f, 0.2f, 0.2f};
  for (auto& l : logits) l = std::log(l / (1 - l + 1e-9f) + 1e-9f);  // sigmoid^-1
  RoutingParams rp{RouterGating::Sigmoid, 8, 3, false, 1.0f, 4, 2};
  std::vector<float> scratch(16), w(3);
  std::vector<int32_t> ids(3);
  route_token(rp, logits.data(), nullptr, scratch.data(), ids.data(), w.data());
  // Kept groups: g1 (1.5) and g0 (1.0); 0.95 in g2 is excluded despite being the second-best expert.
  EXPECT_EQ(ids[0], 0);
  EXPECT_EQ(ids[1], 2);
  EXPECT_EQ(ids[2], 3);
}

TEST(Routing, TiesPickTheLowerIdAndSoftmaxWeight) {
  std::vector<float> logits = {1.0f, 3.0f, 3.0f, 0.0f};
  RoutingParams rp{RouterGating::SoftmaxWeight, 4, 2, false, 1.0f};
  std::vector<float> scratch(8), w(2);
  std::vector<int32_t> ids(2);
  route_token(rp, logits.data(), nullptr, scratch.data(), ids.data(), w.data());
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 2);
  EXPECT_NEAR(w[0], 0.5, 1e-7);
  EXPECT_NEAR(w[1], 0.5, 1e-7);
}

}  // namespace
}  // namespace strata
