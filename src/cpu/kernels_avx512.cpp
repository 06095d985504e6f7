// AVX-512 (F/BW/VL/DQ + VNNI) level. Integer kernels are the shared 256-bit bodies (x86_kernels.inl) with
// VNNI's VPDPBUSD as the unscaled dot primitive, fusing maddubs+madd+add into one instruction. They stay
// 256 bits wide on purpose: decode is bound by memory bandwidth, not by vector width, and 256-bit EVEX code
// avoids the frequency drop heavy 512-bit integer code causes on Skylake-X/Cascade Lake. The float dots
// (F32/F16/BF16 weights, compute-light) use full 512-bit vectors.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

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
  set_dot<FloatDot512<4, load16_f32, scalar_f32>>(table, TensorType::F32);
  set_dot<FloatDot512<2, load16_f16, scalar_f16>>(table, TensorType::F16);
  set_dot<FloatDot512<2, load16_bf16, scalar_bf16>>(table, TensorType::BF16);
}

}  // namespace strata::cpu
