// AVX-512 (F/BW/VL/DQ + VNNI) level. Integer kernels are the shared 256-bit bodies (x86_kernels.inl) with
// VNNI's VPDPBUSD as the unscaled dot primitive, fusing maddubs+madd+add into one instruction. They stay
// 256 bits wide on purpose: decode is bound by memory bandwidth, not by vector width, and 256-bit EVEX code
// avoids the frequency drop heavy 512-bit integer code causes on Skylake-X/Cascade Lake. The float dots
// (F32/F16/BF16 weights, compute-light) use full 512-bit vectors.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>

#include "cpu/kernel_fill.h"
#include "quant/block_io.h"
#include "quant/iq4.h"
#include "util/fp16.h"

// GCC 12's AVX-512 headers build some results from deliberately undefined vectors (_mm512_undefined_*),
// which -Wuninitialized reports at every use site.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace strata::cpu {
namespace {

struct Ops {
  static __m256i dot(__m256i acc, __m256i u, __m256i s) { return _mm256_dpbusd_epi32(acc, u, s); }
  // Not VPDPWSSD: the K-quant loop accumulates 8 chunks into one register, and VPDPWSSD's 5-cycle latency
  // on that chain made Q3_K/Q4_K decode 15-30% slower than madd + add (1-cycle add) in measurements.
  static __m256i dot_scaled(__m256i acc, __m256i u, __m256i s, __m256i scale) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale));
  }
  // VPDPWSSD; the single-row kernels (x86_rowdot.inl) spread their chunks over 4 accumulators for it.
  static __m256i madd_acc(__m256i acc, __m256i x, __m256i scale) { return _mm256_dpwssd_epi32(acc, x, scale); }
};

#include "cpu/x86_kernels.inl"

// Primitives of the prefill panel GEMM (x86_gemm.inl): 16 weight rows per 512-bit vector, VPDPBUSD.
struct GemmOps {
  using VI = __m512i;
  using VF = __m512;
  static constexpr int kRows = 16;   // int32 lanes = weight rows per vector
  static constexpr int kPanels = 2;  // slabs per pass: each activation broadcast feeds 2 vectors
  static constexpr int kCols = 4;    // tokens per pass: each weight load feeds 4 dot products
  static constexpr int kChunk = 2;   // super-blocks per decoded panel (2 x 2 slabs ~ 21 KB for Q4_K)
  static constexpr int kMinCols = 2; // fewer tokens: the per-row dot path (nc == 2 already gains 1.4-2x)
  static constexpr bool kVnni = true;

  static VI zero() { return _mm512_setzero_si512(); }
  static VI load(const void* p) { return _mm512_load_si512(p); }
  static VI loadu(const void* p) { return _mm512_loadu_si512(p); }
  static VI bcast(const uint8_t* p) { return _mm512_set1_epi32(static_cast<int>(load_u32(p))); }
  static VI set1(int x) { return _mm512_set1_epi32(x); }
  static VI set1_8(int x) { return _mm512_set1_epi8(static_cast<char>(x)); }
  static VI and_(VI a, VI b) { return _mm512_and_si512(a, b); }
  static VI or_(VI a, VI b) { return _mm512_or_si512(a, b); }
  static VI add32(VI a, VI b) { return _mm512_add_epi32(a, b); }
  static VI sub32(VI a, VI b) { return _mm512_sub_epi32(a, b); }
  static VI mullo16(VI a, VI b) { return _mm512_mullo_epi16(a, b); }
  static VI shuffle8(VI table, VI idx) { return _mm512_shuffle_epi8(table, idx); }
  template <int N> static VI srli16(VI v) { return _mm512_srli_epi16(v, N); }
  template <int N> static VI slli16(VI v) { return _mm512_slli_epi16(v, N); }
  template <int N> static VI srli32(VI v) { return _mm512_srli_epi32(v, N); }
  template <int N> static VI slli32(VI v) { return _mm512_slli_epi32(v, N); }
  template <int N> static VI srai32(VI v) { return _mm512_srai_epi32(v, N); }
  static VI iq4_table_u8() {  // the IQ4_NL values plus 128, as unsigned bytes
    return _mm512_broadcast_i32x4(_mm_xor_si128(load128(strata::quant::kValuesIQ4NL), _mm_set1_epi8(-128)));
  }
  // acc + sum of 4 adjacent u8 x s8 products per int32 lane.
  static VI dot(VI acc, VI u, VI s) { return _mm512_dpbusd_epi32(acc, u, s); }
  static VI flush(VI acc) { return acc; }
  // acc + pairwise int16 products.
  static VI wdot(VI acc, VI a, VI b) { return _mm512_dpwssd_epi32(acc, a, b); }

  static VF zerof() { return _mm512_setzero_ps(); }
  static VF setf(float x) { return _mm512_set1_ps(x); }
  static VF cvt(VI v) { return _mm512_cvtepi32_ps(v); }
  static VF cvtph_lo(VI v) { return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v)); }  // fp16 in the low halves
  static VF mulf(VF a, VF b) { return _mm512_mul_ps(a, b); }
  static VF addf(VF a, VF b) { return _mm512_add_ps(a, b); }
  static VF fma(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
  static VF fnma(VF a, VF b, VF c) { return _mm512_fnmadd_ps(a, b, c); }
  static VF loadf(const void* p) { return _mm512_load_ps(p); }
  static VF loadfu(const float* p) { return _mm512_loadu_ps(p); }
  static void storefu(float* p, VF v) { _mm512_storeu_ps(p, v); }
  static __mmask16 part_mask(int n) { return static_cast<__mmask16>((1u << n) - 1); }
  static VF loadf_part(const float* p, int n) { return _mm512_maskz_loadu_ps(part_mask(n), p); }
  static void storef_part(float* p, VF v, int n) { _mm512_mask_storeu_ps(p, part_mask(n), v); }

  // Row i of a slab starts at p + i * s.
  [[gnu::always_inline]] static const uint8_t* row(const uint8_t* p, size_t s, int i) {
    return p + static_cast<size_t>(i) * s;
  }
  // out[q], q < 8: int32 lane i = bytes [4q, 4q + 4) of the 32 bytes at p + i * s, rows i < 16.
  [[gnu::always_inline]] static void trans32(const uint8_t* p, size_t s, VI* out) {
    VI z[8];
    for (int i = 0; i < 4; ++i) {
      z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(load256(row(p, s, i))), load256(row(p, s, i + 4)), 1);
      z[4 + i] = _mm512_inserti64x4(_mm512_castsi256_si512(load256(row(p, s, 8 + i))), load256(row(p, s, 12 + i)), 1);
    }
    VI a[2][4];
    for (int h = 0; h < 2; ++h) {
      const VI* zz = z + 4 * h;
      const VI l01 = _mm512_unpacklo_epi32(zz[0], zz[1]), h01 = _mm512_unpackhi_epi32(zz[0], zz[1]);
      const VI l23 = _mm512_unpacklo_epi32(zz[2], zz[3]), h23 = _mm512_unpackhi_epi32(zz[2], zz[3]);
      // 128-bit lanes: [rows 8h..8h+3 quad q, same rows quad q + 4, rows 8h+4..8h+7 quad q, quad q + 4]
      a[h][0] = _mm512_unpacklo_epi64(l01, l23);
      a[h][1] = _mm512_unpackhi_epi64(l01, l23);
      a[h][2] = _mm512_unpacklo_epi64(h01, h23);
      a[h][3] = _mm512_unpackhi_epi64(h01, h23);
    }
    for (int q = 0; q < 4; ++q) {
      out[q] = _mm512_shuffle_i32x4(a[0][q], a[1][q], 0x88);
      out[q + 4] = _mm512_shuffle_i32x4(a[0][q], a[1][q], 0xDD);
    }
  }
  // out[e], e < 4: int32 lane i = bytes [4e, 4e + 4) of the 16 bytes at p + i * s.
  [[gnu::always_inline]] static void trans16(const uint8_t* p, size_t s, VI* out) {
    VI z[4];
    for (int i = 0; i < 4; ++i) {
      const __m256i lo =
          _mm256_inserti128_si256(_mm256_castsi128_si256(load128(row(p, s, i))), load128(row(p, s, i + 4)), 1);
      const __m256i hi =
          _mm256_inserti128_si256(_mm256_castsi128_si256(load128(row(p, s, i + 8))), load128(row(p, s, i + 12)), 1);
      z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    }
    const VI l01 = _mm512_unpacklo_epi32(z[0], z[1]), h01 = _mm512_unpackhi_epi32(z[0], z[1]);
    const VI l23 = _mm512_unpacklo_epi32(z[2], z[3]), h23 = _mm512_unpackhi_epi32(z[2], z[3]);
    out[0] = _mm512_unpacklo_epi64(l01, l23);
    out[1] = _mm512_unpackhi_epi64(l01, l23);
    out[2] = _mm512_unpacklo_epi64(h01, h23);
    out[3] = _mm512_unpackhi_epi64(h01, h23);
  }
};

#include "cpu/x86_gemm.inl"

inline __m512 load16_f32(const uint8_t* p) { return _mm512_loadu_ps(p); }
inline __m512 load16_f16(const uint8_t* p) { return _mm512_cvtph_ps(load256(p)); }
inline __m512 load16_bf16(const uint8_t* p) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(load256(p)), 16));
}

// Two 16-lane accumulators per column: enough independent FMA chains to cover latency at one row.
template <int kElemBytes, __m512 (*Load)(const uint8_t*), float (*Scalar)(const uint8_t*)>
struct FloatDot512 {
  static constexpr int kBlock = 1;
  template <int NC>
  static void dot(const uint8_t* w, const uint8_t* const* a, int64_t n, float* out) {
    __m512 acc[NC][2];
    for (int c = 0; c < NC; ++c) acc[c][0] = acc[c][1] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      if constexpr (NC == 1) prefetch_ahead<32 * kElemBytes>(w + kElemBytes * i);
      const __m512 w0 = Load(w + kElemBytes * i), w1 = Load(w + kElemBytes * (i + 16));
      for (int c = 0; c < NC; ++c) {
        acc[c][0] = _mm512_fmadd_ps(w0, Load(a[c] + kElemBytes * i), acc[c][0]);
        acc[c][1] = _mm512_fmadd_ps(w1, Load(a[c] + kElemBytes * (i + 16)), acc[c][1]);
      }
    }
    for (int c = 0; c < NC; ++c) {
      float s = _mm512_reduce_add_ps(_mm512_add_ps(acc[c][0], acc[c][1]));
      for (int64_t j = i; j < n; ++j) s += Scalar(w + kElemBytes * j) * Scalar(a[c] + kElemBytes * j);
      out[c] = s;
    }
  }
};

}  // namespace

void detail::fill_kernels_avx512(KernelTable& table) {
  fill_x86_common(table);
  fill_x86_gemm(table);
  set_dot<FloatDot512<4, load16_f32, scalar_f32>>(table, TensorType::F32);
  set_dot<FloatDot512<2, load16_f16, scalar_f16>>(table, TensorType::F16);
  set_dot<FloatDot512<2, load16_bf16, scalar_bf16>>(table, TensorType::BF16);
}

}  // namespace strata::cpu
