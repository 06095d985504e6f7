// The engine paths added for speed: grouped matmuls through every available kernel level, the tiled
// attention at every level (against a naive softmax, and batch vs token-by-token bit equality), and the
// spinning thread pool under many tiny jobs.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/kernels.h"
#include "ops_test_support.h"
#include "ops/attention.h"
#include "ops/compute.h"
#include "ops/kv_cache.h"
#include "ops/matmul.h"
#include "ops/thread_pool.h"
#include "quant/interleave.h"
#include "util/error.h"

namespace strata {
namespace {

using test::randn;

std::vector<const cpu::KernelTable*> levels() {
  std::vector<const cpu::KernelTable*> out{nullptr};
  const cpu::CpuFeatures f = cpu::detect_cpu_features();
  for (cpu::IsaLevel l : {cpu::IsaLevel::Scalar, cpu::IsaLevel::Avx2, cpu::IsaLevel::Avx512})
    if (f.supports(l)) out.push_back(&cpu::select_kernels(l));
  return out;
}

const char* level_name(const cpu::KernelTable* k) { return k ? cpu::isa_name(k->level) : "null"; }

struct QuantWeight {
  std::vector<uint8_t> bytes;
  std::vector<float> deq;
  WeightView view;
};

QuantWeight make_weight(TensorType type, int64_t n_in, int64_t n_out, uint32_t seed) {
  const TypeTraits& t = type_traits(type);
  QuantWeight w;
  auto wf = randn(n_in * n_out, seed, 0.1f);
  w.bytes.resize(row_bytes(t, n_in) * n_out);
  t.quantize(wf.data(), w.bytes.data(), n_in * n_out);
  w.deq.resize(n_in * n_out);
  t.dequantize(w.bytes.data(), w.deq.data(), n_in * n_out);
  w.view = WeightView{&t, {n_in, n_out, 1, 1}, w.bytes.data(), w.bytes.size(), "w"};
  return w;
}

// A group of products sharing one input (one quantized copy), one reading a strided column slice and
// writing a strided slice, at every kernel level: each equals the same product run alone (bit for bit)
// and the double-precision dot of the dequantized weights within the README bound.
TEST(MatmulGroup, SharedAndStridedOperandsAtEveryLevel) {
  const int64_t n_in = 512, n_tok = 7;
  ThreadPool pool(2);
  auto x = randn(n_tok * 2 * n_in, 5);  // rows of 2*n_in: the ops read the first half or the second
  const Mat x_lo{x.data(), n_tok, n_in, 2 * n_in}, x_hi{x.data() + n_in, n_tok, n_in, 2 * n_in};
  QuantWeight a = make_weight(TensorType::Q4_K, n_in, 40, 1), b = make_weight(TensorType::Q8_0, n_in, 24, 2),
              c = make_weight(TensorType::Q6_K, n_in, 33, 3), d = make_weight(TensorType::Q2_K, n_in, 17, 4);
  const int64_t ldy = 40 + 24 + 33 + 17;
  for (const cpu::KernelTable* k : levels()) {
    for (int64_t nt : {int64_t{1}, n_tok}) {
      SCOPED_TRACE(std::string(level_name(k)) + " tokens " + std::to_string(nt));
      std::vector<float> y(nt * ldy, -1.0f);
      const Mat xl{x_lo.data, nt, n_in, x_lo.stride}, xh{x_hi.data, nt, n_in, x_hi.stride};
      const Mat ya{y.data(), nt, 40, ldy}, yb{y.data() + 40, nt, 24, ldy}, yc{y.data() + 64, nt, 33, ldy},
          yd{y.data() + 97, nt, 17, ldy};
      matmul_ops(pool, k, ActivationMode::Quantized, {{a.view, xl, ya}, {b.view, xl, yb}, {c.view, xh, yc}, {d.view, xl, yd}});
      const QuantWeight* ws[] = {&a, &b, &c, &d};
      const Mat* xs[] = {&xl, &xl, &xh, &xl};
      const int64_t off[] = {0, 40, 64, 97};
      for (int o = 0; o < 4; ++o) {
        const int64_t n_out = ws[o]->view.rows();
        std::vector<float> alone(nt * n_out);
        matmul(pool, ws[o]->view, *xs[o], mat(alone.data(), nt, n_out), ActivationMode::Quantized, k);
        for (int64_t t = 0; t < nt; ++t)
          for (int64_t r = 0; r < n_out; ++r) {
            const float got = y[t * ldy + off[o] + r];
            ASSERT_EQ(got, alone[t * n_out + r]) << "op " << o << " token " << t << " row " << r;
            double ref = 0, nw = 0, na = 0;
            for (int64_t i = 0; i < n_in; ++i) {
              const double wv = ws[o]->deq[r * n_in + i], xv = xs[o]->row(t)[i];
              ref += wv * xv;
              nw += wv * wv;
              na += xv * xv;
            }
            ASSERT_NEAR(got, ref, 1e-2 * std::sqrt(nw * na)) << "op " << o;
          }
      }
    }
  }
}

// F32 activation mode ignores the kernel level: bit-identical results for every table.
TEST(MatmulGroup, F32ModeIsTheReferenceAtEveryLevel) {
  const int64_t n_in = 256, n_out = 19, n_tok = 3;
  ThreadPool pool(2);
  QuantWeight w = make_weight(TensorType::Q4_K, n_in, n_out, 9);
  auto x = randn(n_tok * n_in, 10);
  std::vector<float> ref(n_tok * n_out);
  matmul(pool, w.view, mat(x.data(), n_tok, n_in), mat(ref.data(), n_tok, n_out));
  for (const cpu::KernelTable* k : levels()) {
    std::vector<float> y(n_tok * n_out);
    matmul(pool, w.view, mat(x.data(), n_tok, n_in), mat(y.data(), n_tok, n_out), ActivationMode::F32, k);
    EXPECT_EQ(y, ref) << level_name(k);
  }
}

// Interleaved weights (quant/interleave.h) through matmul_ops: with a level that has mat_tile_i16 the rows
// split at 16-row group boundaries (one op of many groups so decode cuts it into several tasks, one of a
// single group), and the result equals the plain layout's within the float-order bound of the kernel tests
// (integer sums are the same; a level without the kernel puts each group's rows back in order for its plain
// kernel, whose row split then differs). In F32 mode every row is gathered back and the result is
// bit-identical to the plain layout's. get_rows reads interleaved rows back exactly.
TEST(MatmulGroup, InterleavedWeightsAtEveryLevel) {
  const int64_t n_in = 768;
  ThreadPool pool(2);
  QuantWeight big = make_weight(TensorType::Q4_K, n_in, 16 * 40, 21), one = make_weight(TensorType::Q4_K, n_in, 16, 22);
  auto inter = [&](const QuantWeight& w) {
    std::vector<uint8_t> v(w.bytes.size());
    interleave_rows(*w.view.type, w.bytes.data(), v.data(), w.view.rows(), n_in);
    return v;
  };
  std::vector<uint8_t> big_i = inter(big), one_i = inter(one);
  WeightView big_v = big.view, one_v = one.view;
  big_v.data = big_i.data(), big_v.interleaved = true;
  one_v.data = one_i.data(), one_v.interleaved = true;
  for (const cpu::KernelTable* k : levels()) {
    for (ActivationMode mode : {ActivationMode::Quantized, ActivationMode::F32})
      for (int64_t nt : {1, 5, 40}) {
        SCOPED_TRACE(std::string(level_name(k)) + (mode == ActivationMode::F32 ? " f32" : " quant") + " tokens " +
                     std::to_string(nt));
        auto x = randn(nt * n_in, 23);
        const Mat xm = mat(x.data(), nt, n_in);
        std::vector<float> yp(nt * 656), yi(nt * 656, -1.0f);
        const Mat ybp{yp.data(), nt, 640, 656}, yop{yp.data() + 640, nt, 16, 656};
        const Mat ybi{yi.data(), nt, 640, 656}, yoi{yi.data() + 640, nt, 16, 656};
        matmul_ops(pool, k, mode, {{big.view, xm, ybp}, {one.view, xm, yop}});
        matmul_ops(pool, k, mode, {{big_v, xm, ybi}, {one_v, xm, yoi}});
        if (mode == ActivationMode::F32) {
          ASSERT_EQ(yi, yp);
          continue;
        }
        for (int64_t t = 0; t < nt; ++t)
          for (int64_t r = 0; r < 656; ++r) {
            const QuantWeight& w = r < 640 ? big : one;
            const int64_t wr = r < 640 ? r : r - 640;
            // Float order only: tests/cpu/kernels_test.cpp bounds it by ~1.2e-5 * sum (|w| + R) |a| at this
            // length and observes < 1% of that; 1e-5 * sum |w| |x| keeps a wide margin over what is observed.
            double mag = 0;
            for (int64_t i = 0; i < n_in; ++i) mag += std::fabs(w.deq[wr * n_in + i] * x[t * n_in + i]);
            ASSERT_NEAR(yi[t * 656 + r], yp[t * 656 + r], 1e-5 * mag + 1e-6) << "token " << t << " row " << r;
          }
      }
  }
  const int32_t ids[] = {0, 15, 16, 333, 639};
  std::vector<float> gp(5 * n_in), gi(5 * n_in);
  get_rows(big.view, ids, 5, mat(gp.data(), 5, n_in));
  get_rows(big_v, ids, 5, mat(gi.data(), 5, n_in));
  EXPECT_EQ(gi, gp);
}

// Decode jobs are cut into claims of a shrinking share of what is left (64 KiB .. 2 MiB, whole 16-row groups
// when interleaved, never across ops): a 4 MB job of plain, interleaved and F32 weights and an op without
// tokens, on 1, 2, 3 and 5 threads, writes every row and gives the same bits every time (the claim
// boundaries do not depend on the thread count; some plain-row kernels pair rows, so they could matter).
TEST(MatmulGroup, DecodeClaimsCoverEveryRowAtAnyThreadCount) {
  const int64_t n_in = 2048;
  QuantWeight a = make_weight(TensorType::Q4_K, n_in, 1024, 41), b = make_weight(TensorType::Q4_K, n_in, 1024, 42),
              c = make_weight(TensorType::Q8_0, n_in, 300, 43), e = make_weight(TensorType::Q4_K, n_in, 16, 45);
  std::vector<uint8_t> b_i(b.bytes.size());
  interleave_rows(*b.view.type, b.bytes.data(), b_i.data(), 1024, n_in);
  WeightView bv = b.view;
  bv.data = b_i.data(), bv.interleaved = true;
  auto router = randn(128 * n_in, 44, 0.1f);
  const WeightView rv{&type_traits(TensorType::F32), {n_in, 128, 1, 1},
                      reinterpret_cast<const uint8_t*>(router.data()), router.size() * sizeof(float), "router"};
  const int64_t ldy = 1024 + 1024 + 300 + 128;
  for (const cpu::KernelTable* k : levels())
    for (int64_t nt : {1, 2}) {
      SCOPED_TRACE(std::string(level_name(k)) + " tokens " + std::to_string(nt));
      auto x = randn(nt * n_in, 46);
      const Mat xm = mat(x.data(), nt, n_in);
      std::vector<float> ref;
      for (int threads : {1, 2, 3, 5}) {
        ThreadPool pool(threads);
        std::vector<float> y(nt * ldy, NAN);
        const Mat ya{y.data(), nt, 1024, ldy}, yb{y.data() + 1024, nt, 1024, ldy}, yc{y.data() + 2048, nt, 300, ldy},
            yr{y.data() + 2348, nt, 128, ldy};
        matmul_ops(pool, k, ActivationMode::Quantized,
                   {{a.view, xm, ya}, {e.view, Mat{x.data(), 0, n_in, n_in}, Mat{y.data(), 0, 16, ldy}},
                    {bv, xm, yb}, {c.view, xm, yc}, {rv, xm, yr}});
        for (size_t i = 0; i < y.size(); ++i) ASSERT_TRUE(std::isfinite(y[i])) << threads << " threads, value " << i;
        if (threads == 1) ref = y;
        else ASSERT_EQ(y, ref) << threads << " threads";
      }
    }
}

TEST(MatmulGroup, InterleavedWeightNeedsWholeGroups) {
  ThreadPool pool(2);
  QuantWeight w = make_weight(TensorType::Q4_K, 256, 24, 30);
  w.view.interleaved = true;
  auto x = randn(256, 31);
  std::vector<float> y(24);
  EXPECT_THROW(matmul(pool, w.view, mat(x.data(), 1, 256), mat(y.data(), 1, 24)), Error);
}

// Long context (several 32-position key blocks, a partial last block), GQA group of 4, both cache types:
// every level matches a naive double softmax, and a batch gives the same bits as token-by-token.
TEST(TiledAttention, MatchesNaiveAndIsBatchInvariantAtEveryLevel) {
  const int64_t H = 8, Hkv = 2, dk = 64, dv = 48, n_ctx = 150, n_tok = 41, pos0 = 100;
  for (TensorType kvt : {TensorType::F32, TensorType::F16}) {
    KvCache kv(kvt, n_ctx, {KvLayerLayout{Hkv * dk, Hkv * dv}});
    auto K = randn(n_ctx * Hkv * dk, 21), V = randn(n_ctx * Hkv * dv, 22), Q = randn(n_tok * H * dk, 23, 0.5f);
    kv.store_k(0, 0, mat(K.data(), pos0 + n_tok, Hkv * dk));
    kv.store_v(0, 0, mat(V.data(), pos0 + n_tok, Hkv * dv));
    std::vector<float> kf(Hkv * dk), vf(Hkv * dv);
    std::vector<int32_t> pos(n_tok);
    std::iota(pos.begin(), pos.end(), static_cast<int32_t>(pos0));
    const AttentionParams p{H, Hkv, dk, dv, 0.125f};
    ThreadPool pool(2);
    for (const cpu::KernelTable* k : levels()) {
      SCOPED_TRACE(std::string(level_name(k)) + (kvt == TensorType::F16 ? " f16" : " f32"));
      std::vector<float> batch(n_tok * H * dv), single(n_tok * H * dv);
      attention(pool, p, mat(Q.data(), n_tok, H * dk), pos.data(), kv.k_span(0, 0, dk), kv.v_span(0, 0, dv),
                mat(batch.data(), n_tok, H * dv), k);
      for (int64_t t = 0; t < n_tok; ++t)
        attention(pool, p, mat(Q.data() + t * H * dk, 1, H * dk), pos.data() + t, kv.k_span(0, 0, dk),
                  kv.v_span(0, 0, dv), mat(single.data() + t * H * dv, 1, H * dv), k);
      ASSERT_EQ(batch, single);
      for (int64_t t = 0; t < n_tok; t += 10)
        for (int64_t h = 0; h < H; ++h) {
          const int64_t g = h / (H / Hkv);
          std::vector<double> s(pos[t] + 1);
          double mx = -1e300, z = 0;
          for (int64_t j = 0; j <= pos[t]; ++j) {
            kv.load_k(0, j, kf.data());
            double d = 0;
            for (int64_t i = 0; i < dk; ++i) d += double(Q[(t * H + h) * dk + i]) * kf[g * dk + i];
            mx = std::max(mx, s[j] = d * p.scale);
          }
          for (auto& v : s) z += (v = std::exp(v - mx));
          for (int64_t i = 0; i < dv; ++i) {
            double o = 0;
            for (int64_t j = 0; j <= pos[t]; ++j) {
              float vv = V[(j * Hkv + g) * dv + i];
              if (kvt == TensorType::F16) {
                // The cache rounds V to F16; recover it through a K-style load of the stored row.
                const KvSpan vs = kv.v_span(0, 0, dv);
                const uint16_t* row = reinterpret_cast<const uint16_t*>(vs.data + j * vs.row_bytes);
                std::vector<float> tmp(1);
                type_traits(TensorType::F16).dequantize(row + g * dv + i, tmp.data(), 1);
                vv = tmp[0];
              }
              o += s[j] / z * vv;
            }
            ASSERT_NEAR(batch[(t * H + h) * dv + i], o, 2e-5) << "t " << t << " h " << h << " i " << i;
          }
        }
    }
  }
}

TEST(ThreadPoolSpin, ManyTinyJobsPinnedAndErrorsAfterSpinning) {
  ThreadPool pool(2, ThreadPoolOptions{.pin = true, .spin_us = 50});
  std::atomic<int64_t> n{0};
  for (int i = 0; i < 20000; ++i) pool.run(3, [&](int64_t, int) { n.fetch_add(1, std::memory_order_relaxed); });
  EXPECT_EQ(n.load(), 60000);
  // Workers have gone to sleep by now; a job must still wake them.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::atomic<int> seen_worker{0};
  pool.run(64, [&](int64_t, int thread) {
    if (thread == 1) seen_worker = 1;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  });
  EXPECT_EQ(seen_worker.load(), 1);
  EXPECT_THROW(pool.run(50, [](int64_t t, int) { if (t == 3) throw std::runtime_error("x"); }), std::runtime_error);
  n = 0;
  pool.run(10, [&](int64_t, int) { n++; });
  EXPECT_EQ(n.load(), 10);
  uint8_t* a = pool.shared_scratch(100, 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_THROW(pool.shared_scratch(1, ThreadPool::kSharedSlots), std::exception);
}

TEST(ComputeContext, ForcedLevelAndDescription) {
  ComputeOptions forced;
  forced.threads = 2;
  forced.isa = cpu::IsaLevel::Scalar;
  ComputeContext c(forced);
  EXPECT_EQ(c.level(), cpu::IsaLevel::Scalar);
  EXPECT_EQ(c.threads(), 2);
  EXPECT_NE(c.describe().find("scalar"), std::string::npos);
  ComputeOptions one;
  one.threads = 1;
  ComputeContext best(one);
  EXPECT_EQ(best.level(), best.features().best_level());
}

}  // namespace
}  // namespace strata
