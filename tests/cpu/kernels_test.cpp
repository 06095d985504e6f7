// Every SIMD kernel against the scalar reference (src/quant) on random realistic blocks, for every type,
// on every ISA level this machine supports (others are skipped with a message).
//
// What must match exactly: dequantization and activation quantization (memcmp / bitwise float compare).
// What may differ: the dot products, by float summation order only. Justification of the tolerance: both
// the reference and the SIMD kernel add up the same real per-block terms T_i = d_w * d_a * isum_i (+ min
// terms), where isum_i is an exact integer in both. Forming each T_i costs at most ~3 roundings, and a
// float sum of m terms in any order has error <= (m - 1) * u * sum|T_i| (u = 2^-24, first order). So
//   |simd - ref| <= 2 * (m + 3) * u * sum|T_i|,   m = number of float terms (n / 16 at the finest),
// and sum|T_i| <= sum_k (|w_k| + R_k) * |a_k| where w, a are the dequantized values and R_k the largest
// |w| of k's block (this covers the min offsets of Q4_1/Q5_1/Q2_K/Q4_K/Q5_K: for blocks produced by the
// reference quantizers a block's min is itself one of its values). A further factor 2 covers the
// second-order terms; observed errors are reported and stay far below the bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/kernels.h"
#include "quant/convert.h"
#include "quant/interleave.h"
#include "quant/types.h"
#include "util/error.h"

namespace strata::cpu {
namespace {

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  float normal() {
    const double u1 = uniform() + 1e-300, u2 = uniform();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
};

// Gaussian values whose scale drifts along the row, with occasional outliers and exact zeros, like real
// weight and activation rows.
std::vector<float> random_row(Rng& rng, int64_t n) {
  std::vector<float> v(n);
  float scale = 0.02f + 0.5f * static_cast<float>(rng.uniform());
  for (int64_t i = 0; i < n; ++i) {
    if (i % 64 == 0) scale = 0.01f + static_cast<float>(rng.uniform());
    float x = rng.normal() * scale;
    const double r = rng.uniform();
    if (r < 0.002) x *= 20.f;
    else if (r < 0.004) x = 0.f;
    v[i] = x;
  }
  return v;
}

const std::vector<TensorType>& kernel_types() {
  static const std::vector<TensorType> v = {
      TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,   TensorType::Q5_0,
      TensorType::Q5_1, TensorType::Q8_0, TensorType::Q8_1, TensorType::Q2_K, TensorType::Q3_K,   TensorType::Q4_K,
      TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_K, TensorType::IQ4_NL, TensorType::IQ4_XS};
  return v;
}

std::vector<IsaLevel> simd_levels() { return {IsaLevel::Avx2, IsaLevel::Avx512}; }

// Bytes placed at a deliberately odd offset, as blocks inside a mapped file are.
struct Misaligned {
  std::vector<uint8_t> storage;
  size_t off;
  Misaligned(const std::vector<uint8_t>& src, size_t offset) : storage(src.size() + 64), off(offset) {
    std::memcpy(storage.data() + off, src.data(), src.size());
  }
  const uint8_t* data() const { return storage.data() + off; }
};

double tolerance(const TypeTraits& wt, const std::vector<float>& w, const std::vector<float>& a) {
  const int64_t n = static_cast<int64_t>(w.size());
  const int64_t be = std::max<int64_t>(wt.block_elems, 1);
  double mag = 0.0;
  for (int64_t b = 0; b < n; b += be) {
    double r = 0.0;
    for (int64_t k = b; k < b + be; ++k) r = std::max(r, std::fabs(static_cast<double>(w[k])));
    if (be == 1) r = 0.0;
    for (int64_t k = b; k < b + be; ++k) mag += (std::fabs(static_cast<double>(w[k])) + r) * std::fabs(a[k]);
  }
  const double m = be == 1 ? static_cast<double>(n) : static_cast<double>(n) / 16.0;
  return 2.0 * 2.0 * (m + 3.0) * 0x1p-24 * mag + 1e-30;
}

class KernelTest : public testing::TestWithParam<std::tuple<IsaLevel, TensorType>> {
 protected:
  void SetUp() override {
    const CpuFeatures f = detect_cpu_features();
    level_ = std::get<0>(GetParam());
    if (!f.supports(level_))
      GTEST_SKIP() << "SKIPPED: this CPU has no " << isa_name(level_) << " (" << describe(f) << ")";
    wt_ = &type_traits(std::get<1>(GetParam()));
    at_ = &activation_type(*wt_);
  }
  IsaLevel level_{};
  const TypeTraits* wt_ = nullptr;
  const TypeTraits* at_ = nullptr;
};

std::vector<int64_t> test_lengths(const TypeTraits& t) {
  const int64_t be = std::max<uint32_t>(t.block_elems, 32);  // activations come in blocks of 32 or 256
  const int64_t unit = t.block_elems == 256 || t.vec_dot_type == TensorType::Q8_K ? 256 : be;
  std::vector<int64_t> v = {unit, 2 * unit, 3 * unit, 5 * unit, 7 * unit, 28 * unit};
  if (t.block_elems == 1) v.insert(v.end(), {1, 7, 8, 15, 16, 17, 33, 100});
  if (unit == 32) v.push_back(7168);
  return v;
}

TEST_P(KernelTest, VecDotMatchesReference) {
  const KernelTable& table = select_kernels(level_);
  const TypeKernels& k = table[wt_->type];
  Rng rng(1000 + static_cast<uint64_t>(wt_->type));
  double worst = 0.0;
  for (int64_t n : test_lengths(*wt_)) {
    for (int rep = 0; rep < 3; ++rep) {
      const auto wf = random_row(rng, n), af = random_row(rng, n);
      std::vector<uint8_t> w(row_bytes(*wt_, n)), a(row_bytes(*at_, n));
      quantize_row(*wt_, wf.data(), w.data(), n);
      quantize_row(*at_, af.data(), a.data(), n);
      std::vector<float> wd(n), ad(n);
      dequantize_row(*wt_, w.data(), wd.data(), n);
      dequantize_row(*at_, a.data(), ad.data(), n);
      const double tol = tolerance(*wt_, wd, ad);
      const float ref = wt_->vec_dot(w.data(), a.data(), n);
      for (size_t off : {size_t{0}, size_t{1}, size_t{3}}) {
        const Misaligned mw(w, off), ma(a, (off * 7) % 5);
        const float got = k.vec_dot(mw.data(), ma.data(), n);
        ASSERT_NEAR(got, ref, tol) << wt_->name << " n=" << n << " offset=" << off;
        worst = std::max(worst, std::fabs(static_cast<double>(got) - ref) / tol);
      }
    }
  }
  std::printf("[ info     ] %s %s: worst |simd-ref| = %.3g of the tolerance\n", isa_name(level_), wt_->name, worst);
}

TEST_P(KernelTest, MatTileMatchesReference) {
  const KernelTable& table = select_kernels(level_);
  const TypeKernels& k = table[wt_->type];
  Rng rng(2000 + static_cast<uint64_t>(wt_->type));
  const int64_t unit = wt_->block_elems == 256 || wt_->vec_dot_type == TensorType::Q8_K ? 256 : 32;
  for (int64_t n : {unit, 3 * unit, 9 * unit}) {
    const int64_t nr = 5, max_nc = 7;
    const uint64_t wrow = row_bytes(*wt_, n), arow = row_bytes(*at_, n);
    // Strides with slack bytes so rows start at odd addresses.
    const size_t ws = wrow + 3, as = arow + 5;
    std::vector<uint8_t> w(ws * nr + 1), a(as * max_nc + 1);
    std::vector<std::vector<float>> wd(nr, std::vector<float>(n)), ad(max_nc, std::vector<float>(n));
    for (int64_t r = 0; r < nr; ++r) {
      const auto f = random_row(rng, n);
      quantize_row(*wt_, f.data(), w.data() + 1 + r * ws, n);
      dequantize_row(*wt_, w.data() + 1 + r * ws, wd[r].data(), n);
    }
    for (int64_t c = 0; c < max_nc; ++c) {
      const auto f = random_row(rng, n);
      quantize_row(*at_, f.data(), a.data() + 1 + c * as, n);
      dequantize_row(*at_, a.data() + 1 + c * as, ad[c].data(), n);
    }
    for (int64_t nc = 1; nc <= max_nc; ++nc) {
      const size_t ldy = nr + 2;
      std::vector<float> y(ldy * nc, -1.f);
      k.mat_tile(w.data() + 1, ws, nr, a.data() + 1, as, nc, n, y.data(), ldy);
      for (int64_t c = 0; c < nc; ++c)
        for (int64_t r = 0; r < nr; ++r) {
          const float ref = wt_->vec_dot(w.data() + 1 + r * ws, a.data() + 1 + c * as, n);
          ASSERT_NEAR(y[c * ldy + r], ref, tolerance(*wt_, wd[r], ad[c]))
              << wt_->name << " n=" << n << " nc=" << nc << " r=" << r << " c=" << c;
        }
      for (int64_t c = 0; c < nc; ++c) EXPECT_EQ(y[c * ldy + nr], -1.f) << "wrote past nr";
    }
  }
}

// The prefill shapes: K-quant tiles with nc >= 2 take the panel GEMM (src/cpu/x86_gemm.inl), which works on
// 8 or 16 rows per vector, 1-2 vectors per pass, 4 tokens per pass and a few super-blocks per decoded
// panel. Row counts around and past those multiples, token counts with every tail, and lengths of one,
// several and more super-blocks than one panel holds.
TEST_P(KernelTest, MatTileWideMatchesReference) {
  const KernelTable& table = select_kernels(level_);
  const TypeKernels& k = table[wt_->type];
  Rng rng(6000 + static_cast<uint64_t>(wt_->type));
  const int64_t unit = wt_->block_elems == 256 || wt_->vec_dot_type == TensorType::Q8_K ? 256 : 32;
  const int64_t max_nr = 37, max_nc = 13;
  double worst = 0.0;
  for (int64_t n : {unit, 2 * unit, 9 * unit, 17 * unit}) {
    const uint64_t wrow = row_bytes(*wt_, n), arow = row_bytes(*at_, n);
    const size_t ws = wrow + 1, as = arow + 3;
    std::vector<uint8_t> w(ws * max_nr + 1), a(as * max_nc + 1);
    std::vector<std::vector<float>> wd(max_nr, std::vector<float>(n)), ad(max_nc, std::vector<float>(n));
    for (int64_t r = 0; r < max_nr; ++r) {
      const auto f = random_row(rng, n);
      quantize_row(*wt_, f.data(), w.data() + 1 + r * ws, n);
      dequantize_row(*wt_, w.data() + 1 + r * ws, wd[r].data(), n);
    }
    for (int64_t c = 0; c < max_nc; ++c) {
      const auto f = random_row(rng, n);
      quantize_row(*at_, f.data(), a.data() + 1 + c * as, n);
      dequantize_row(*at_, a.data() + 1 + c * as, ad[c].data(), n);
    }
    std::vector<float> ref(max_nr * max_nc);
    for (int64_t c = 0; c < max_nc; ++c)
      for (int64_t r = 0; r < max_nr; ++r)
        ref[c * max_nr + r] = wt_->vec_dot(w.data() + 1 + r * ws, a.data() + 1 + c * as, n);
    for (int64_t nr : {1, 8, 16, 23, 32, 37}) {
      if (n > 2 * unit && nr != 37 && nr != 23) continue;  // long rows: two row counts suffice
      for (int64_t nc : {2, 3, 4, 5, 6, 7, 8, 9, 13}) {
        const size_t ldy = nr + 3;
        std::vector<float> y(ldy * nc, -1.f);
        k.mat_tile(w.data() + 1, ws, nr, a.data() + 1, as, nc, n, y.data(), ldy);
        for (int64_t c = 0; c < nc; ++c) {
          for (int64_t r = 0; r < nr; ++r) {
            const double tol = tolerance(*wt_, wd[r], ad[c]);
            const float want = ref[c * max_nr + r];
            ASSERT_NEAR(y[c * ldy + r], want, tol)
                << wt_->name << " n=" << n << " nr=" << nr << " nc=" << nc << " r=" << r << " c=" << c;
            worst = std::max(worst, std::fabs(static_cast<double>(y[c * ldy + r]) - want) / tol);
          }
          for (size_t r = nr; r < ldy; ++r) ASSERT_EQ(y[c * ldy + r], -1.f) << "wrote past nr: nr=" << nr;
        }
      }
    }
  }
  std::printf("[ info     ] %s %s: worst |tile-ref| = %.3g of the tolerance\n", isa_name(level_), wt_->name, worst);
}

TEST_P(KernelTest, DequantizeIsBitExact) {
  const KernelTable& table = select_kernels(level_);
  const TypeKernels& k = table[wt_->type];
  Rng rng(3000 + static_cast<uint64_t>(wt_->type));
  for (int64_t n : test_lengths(*wt_)) {
    const auto f = random_row(rng, n);
    std::vector<uint8_t> w(row_bytes(*wt_, n));
    quantize_row(*wt_, f.data(), w.data(), n);
    std::vector<float> ref(n), got(n, -7.f);
    wt_->dequantize(w.data(), ref.data(), n);
    const Misaligned mw(w, 1);
    k.dequantize(mw.data(), got.data(), n);
    ASSERT_EQ(std::memcmp(ref.data(), got.data(), n * sizeof(float)), 0) << wt_->name << " n=" << n;
  }
}

TEST_P(KernelTest, ActivationQuantizerIsBitExact) {
  const KernelTable& table = select_kernels(level_);
  const TypeKernels& k = table[wt_->type];
  ASSERT_EQ(k.act_type, at_->type);
  Rng rng(4000 + static_cast<uint64_t>(wt_->type));
  for (int64_t n : test_lengths(*wt_)) {
    std::vector<float> x = random_row(rng, n);
    // Exact rounding ties after scaling: a block holding 127 has d = 1 (Q8_0) or |iscale| = 1 (Q8_K), so
    // the .5 values below land exactly on ties, where roundf and round-to-even disagree.
    if (n >= 32) {
      x[0] = 127.f;
      for (int j = 1; j < 32; ++j) x[j] = static_cast<float>(j % 9) - 4.5f;
    }
    if (n >= 64) std::fill(x.begin() + 32, x.begin() + 64, 0.f);  // an all-zero block
    std::vector<uint8_t> ref(row_bytes(*at_, n)), got(row_bytes(*at_, n), 0xAB);
    at_->quantize(x.data(), ref.data(), n);
    k.quantize_activations(x.data() + 0, got.data(), n);
    ASSERT_EQ(std::memcmp(ref.data(), got.data(), ref.size()), 0) << at_->name << " n=" << n;
  }
}

std::string param_name(const testing::TestParamInfo<std::tuple<IsaLevel, TensorType>>& info) {
  return std::string(isa_name(std::get<0>(info.param))) + "_" + type_traits(std::get<1>(info.param)).name;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KernelTest,
                         testing::Combine(testing::ValuesIn(simd_levels()), testing::ValuesIn(kernel_types())),
                         param_name);

// Interleaved rows (quant/interleave.h) through mat_tile_i16 against the reference on the plain rows, for the
// types and levels that interleave (TEST Interleave.* below pins which those are): every
// token count from decode (nc == 1) up, row counts of one and several groups (an odd number of 16-row
// groups leaves the AVX-512 path a half panel), lengths below, at and past one decoded panel's super-blocks.
class InterleavedTest : public testing::TestWithParam<std::tuple<IsaLevel, TensorType>> {};

TEST_P(InterleavedTest, MatTileMatchesReference) {
  const IsaLevel level = std::get<0>(GetParam());
  const TypeTraits& wt = type_traits(std::get<1>(GetParam()));
  const CpuFeatures f = detect_cpu_features();
  if (!f.supports(level)) GTEST_SKIP() << "SKIPPED: this CPU has no " << isa_name(level) << " (" << describe(f) << ")";
  const TypeKernels& k = select_kernels(level)[wt.type];
  if (k.mat_tile_i16 == nullptr)
    GTEST_SKIP() << "SKIPPED: " << wt.name << " stays in the plain layout at " << isa_name(level)
                 << " (no in-register decode kernel for interleaved rows there)";
  ASSERT_TRUE(interleavable(wt));
  const TypeTraits& at = activation_type(wt);
  Rng rng(9100 + static_cast<uint64_t>(wt.type));
  const int64_t max_nr = 80, max_nc = 13;
  double worst = 0.0;
  for (int64_t n : {256, 512, 2304, 4352}) {
    const uint64_t wrow = row_bytes(wt, n), arow = row_bytes(at, n);
    std::vector<uint8_t> w(wrow * max_nr), a(arow * max_nc);
    std::vector<std::vector<float>> wd(max_nr, std::vector<float>(n)), ad(max_nc, std::vector<float>(n));
    for (int64_t r = 0; r < max_nr; ++r) {
      const auto x = random_row(rng, n);
      quantize_row(wt, x.data(), w.data() + r * wrow, n);
      dequantize_row(wt, w.data() + r * wrow, wd[r].data(), n);
    }
    for (int64_t c = 0; c < max_nc; ++c) {
      const auto x = random_row(rng, n);
      quantize_row(at, x.data(), a.data() + c * arow, n);
      dequantize_row(at, a.data() + c * arow, ad[c].data(), n);
    }
    // 64-byte aligned like the engine's copies; the kernels also accept any alignment.
    std::vector<uint8_t> storage(w.size() + 64);
    uint8_t* iw = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
    interleave_rows(wt, w.data(), iw, max_nr, n);
    for (int64_t nr : {16, 32, 48, 80}) {
      for (int64_t nc : {1, 2, 3, 4, 5, 9, 13}) {
        if (n > 512 && nc != 1 && nc != 5) continue;  // long rows: decode and one prefill count suffice
        const size_t ldy = nr + 3;
        std::vector<float> y(ldy * nc, -1.f);
        k.mat_tile_i16(iw, wrow, nr, a.data(), arow, nc, n, y.data(), ldy);
        for (int64_t c = 0; c < nc; ++c) {
          for (int64_t r = 0; r < nr; ++r) {
            const double tol = tolerance(wt, wd[r], ad[c]);
            const float want = wt.vec_dot(w.data() + r * wrow, a.data() + c * arow, n);
            ASSERT_NEAR(y[c * ldy + r], want, tol) << wt.name << " n=" << n << " nr=" << nr << " nc=" << nc
                                                   << " r=" << r << " c=" << c;
            worst = std::max(worst, std::fabs(static_cast<double>(y[c * ldy + r]) - want) / tol);
          }
          for (size_t r = nr; r < ldy; ++r) ASSERT_EQ(y[c * ldy + r], -1.f) << "wrote past nr: nr=" << nr;
        }
      }
    }
  }
  std::printf("[ info     ] %s %s interleaved: worst |tile-ref| = %.3g of the tolerance\n", isa_name(level), wt.name,
              worst);
}

INSTANTIATE_TEST_SUITE_P(InterleavableTypes, InterleavedTest,
                         testing::Combine(testing::Values(IsaLevel::Avx512),
                                          testing::Values(TensorType::Q2_K, TensorType::Q4_K, TensorType::Q5_K,
                                                          TensorType::Q6_K, TensorType::Q3_K, TensorType::IQ4_XS,
                                                          TensorType::Q4_0, TensorType::Q8_0, TensorType::IQ4_NL)),
                         param_name);

// Interleaving pays only where a group_dot decodes the tiles in registers (src/cpu/x86_gemm.inl): AVX-512
// VNNI. AVX2 keeps every type plain.
TEST(Interleave, WhichTypesInterleaveAtWhichLevel) {
  const CpuFeatures f = detect_cpu_features();
  if (f.supports(IsaLevel::Avx2)) {
    const KernelTable& avx2 = select_kernels(IsaLevel::Avx2);
    for (TensorType type : kernel_types()) EXPECT_EQ(avx2.types[static_cast<size_t>(type)].mat_tile_i16, nullptr);
  }
  if (!f.supports(IsaLevel::Avx512)) GTEST_SKIP() << "SKIPPED: this CPU has no avx512";
  for (TensorType type : kernel_types()) {
    const bool want = type == TensorType::Q2_K || type == TensorType::Q4_K || type == TensorType::Q5_K ||
                      type == TensorType::Q6_K || type == TensorType::Q3_K || type == TensorType::IQ4_XS ||
                      type == TensorType::Q4_0 || type == TensorType::Q8_0 || type == TensorType::IQ4_NL;
    EXPECT_EQ(select_kernels(IsaLevel::Avx512).types[static_cast<size_t>(type)].mat_tile_i16 != nullptr, want)
        << type_traits(type).name;
  }
}

TEST(Interleave, ScalarTableKeepsThePlainLayout) {
  const KernelTable& t = select_kernels(IsaLevel::Scalar);
  for (TensorType type : kernel_types()) EXPECT_EQ(t.types[static_cast<size_t>(type)].mat_tile_i16, nullptr);
}

TEST(ActivationQuantizers, TableEntriesAreBitExact) {
  const CpuFeatures f = detect_cpu_features();
  Rng rng(77);
  for (IsaLevel l : simd_levels()) {
    if (!f.supports(l)) {
      std::printf("[ SKIPPED  ] %s not supported here\n", isa_name(l));
      continue;
    }
    const KernelTable& t = select_kernels(l);
    for (int64_t n : {256, 512, 7168}) {
      std::vector<float> x = random_row(rng, n);
      // The largest magnitude appears twice with opposite signs: the first one decides Q8_K's sign.
      x[100] = 3.f;
      x[7] = -3.f;
      struct Q {
        QuantizeRowFn fn;
        TensorType type;
      };
      for (const Q& q : {Q{t.quantize_q8_0, TensorType::Q8_0}, Q{t.quantize_q8_1, TensorType::Q8_1},
                         Q{t.quantize_q8_k, TensorType::Q8_K}}) {
        const TypeTraits& tt = type_traits(q.type);
        std::vector<uint8_t> ref(row_bytes(tt, n)), got(row_bytes(tt, n));
        tt.quantize(x.data(), ref.data(), n);
        q.fn(x.data(), got.data(), n);
        EXPECT_EQ(std::memcmp(ref.data(), got.data(), ref.size()), 0) << isa_name(l) << " " << tt.name;
      }
    }
  }
}

TEST(ScalarTable, IsTheReference) {
  const KernelTable& t = select_kernels(IsaLevel::Scalar);
  for (TensorType type : kernel_types()) {
    const TypeTraits& tt = type_traits(type);
    EXPECT_EQ(t[type].vec_dot, tt.vec_dot) << tt.name;
    EXPECT_EQ(t[type].dequantize, tt.dequantize) << tt.name;
    EXPECT_EQ(t[type].act_type, tt.vec_dot_type) << tt.name;
  }
}

TEST(MatmulRows, QuantizesAndMultiplies) {
  const CpuFeatures f = detect_cpu_features();
  const KernelTable& t = select_kernels(select_isa(f));
  Rng rng(5);
  const int64_t n = 512, nr = 3, nc = 6;
  const TypeTraits& wt = type_traits(TensorType::Q4_K);
  std::vector<uint8_t> w(row_bytes(wt, n) * nr);
  for (int64_t r = 0; r < nr; ++r) {
    const auto x = random_row(rng, n);
    quantize_row(wt, x.data(), w.data() + r * row_bytes(wt, n), n);
  }
  std::vector<float> x(n * nc);
  for (auto& v : x) v = rng.normal();
  std::vector<float> y(nr * nc);
  std::vector<uint8_t> scratch;
  matmul_rows(t, TensorType::Q4_K, w.data(), row_bytes(wt, n), nr, x.data(), n, nc, n, y.data(), nr, scratch);
  for (int64_t c = 0; c < nc; ++c) {
    const auto a = quantize_activations(wt, x.data() + c * n, n);
    for (int64_t r = 0; r < nr; ++r) {
      const float ref = wt.vec_dot(w.data() + r * row_bytes(wt, n), a.data(), n);
      EXPECT_NEAR(y[c * nr + r], ref, 1e-4 * (1 + std::fabs(ref)));
    }
  }
  EXPECT_THROW(matmul_rows(t, TensorType::Q4_K, w.data(), 0, 1, x.data(), n, 1, 100, y.data(), 1, scratch),
               InputError);
}

// The SIMD swiglu against silu(z) * u evaluated in double. Tolerance: the vector e^x is within 2 ulp of the
// exact value (Cephes reduction and polynomial), and 1 + e, the division and the product round once each
// (0.5 ulp): <= 3.5 ulp, so 4 * 2^-23 relative. Where the exact result is below 1e-30 (z below about -72, or u near 0; there
// e^-z is clamped or overflows to inf as expf does) only the absolute size is checked: such a value is
// zero to every later operation. The float reference strata::swiglu is itself within ~1.5 ulp of this.
TEST(Swiglu, MatchesTheExactValueWithinUlps) {
  const CpuFeatures f = detect_cpu_features();
  Rng rng(11);
  std::vector<float> z, u;
  for (int i = -20000; i <= 20000; ++i) z.push_back(static_cast<float>(i) * 0.005f);  // [-100, 100]
  for (float s : {0.01f, 0.3f, 1.f, 4.f, 30.f})
    for (int i = 0; i < 997; ++i) z.push_back(rng.normal() * s);
  for (float x : {0.f, -0.f, 1e-30f, -1e-30f, 87.3f, -87.3f, 88.72f, -88.72f, 88.8f, -88.8f, 1e30f, -1e30f})
    z.push_back(x);
  for (size_t i = 0; i < z.size(); ++i) u.push_back(i % 5 == 0 ? 1.f : rng.normal());
  for (IsaLevel l : simd_levels()) {
    if (!f.supports(l)) {
      std::printf("[ SKIPPED  ] %s not supported here\n", isa_name(l));
      continue;
    }
    const SwigluFn fn = select_kernels(l).swiglu;
    ASSERT_NE(fn, nullptr) << isa_name(l);
    double worst = 0;
    // Every length up to 17 (the 8-lane loop and its scalar tail), then the whole set in one call.
    for (size_t len : {size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{16}, size_t{17}, z.size()}) {
      for (size_t b = 0; b + len <= z.size(); b += len == z.size() ? len : 997 * len) {
        std::vector<float> g(z.begin() + b, z.begin() + b + len);
        fn(g.data(), u.data() + b, static_cast<int64_t>(len));
        for (size_t i = 0; i < len; ++i) {
          const double zz = z[b + i], exact = zz / (1.0 + std::exp(-zz)) * u[b + i];
          const double err = std::fabs(g[i] - exact);
          if (std::fabs(exact) < 1e-30) {
            EXPECT_LT(std::fabs(g[i]), 1e-30) << "z " << zz;
            continue;
          }
          worst = std::max(worst, err / std::fabs(exact) / 0x1p-23);
          EXPECT_LE(err, 4 * 0x1p-23 * std::fabs(exact)) << isa_name(l) << " z " << zz << " u " << u[b + i];
        }
      }
    }
    std::printf("[   INFO   ] %s: worst %.2f ulp\n", isa_name(l), worst);
    // IEEE edge cases as the scalar z / (1 + e^-z) gives them.
    std::vector<float> e = {INFINITY, -INFINITY, NAN, -200.f}, one(4, 1.f);
    fn(e.data(), one.data(), 4);
    EXPECT_EQ(e[0], INFINITY);
    EXPECT_TRUE(std::isnan(e[1]));
    EXPECT_TRUE(std::isnan(e[2]));
    EXPECT_EQ(e[3], 0.f);
  }
}

}  // namespace
}  // namespace strata::cpu
