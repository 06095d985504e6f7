// The tiled attention compiled for AVX2 + FMA + F16C (chosen when the kernel level is avx2): the same
// per-head loops as the baseline, with a vector exp, F16C conversion of the cache rows and FMA block
// kernels (K rows are zero-padded to a multiple of 16 floats, so block_scores has no scalar tail).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/attention.h"
#include "ops/attention_levels.h"

namespace strata::attn_avx2 {
namespace {

inline float exp_f(float x) { return std::exp(x); }

// x <- exp(x - m) for n values (x - m <= 0). Cephes-style range reduction and degree-6 polynomial,
// within ~2 ulp of expf; results below e^-87 flush to ~0, which a softmax weight cannot tell apart.
inline void exp_shifted(float* x, int64_t n, float m) {
  const __m256 vm = _mm256_set1_ps(m);
  const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 ln2_hi = _mm256_set1_ps(0.693359375f), ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
  const __m256 lo = _mm256_set1_ps(-87.3f);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 v = _mm256_max_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm), lo);
    const __m256 fn = _mm256_round_ps(_mm256_mul_ps(v, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm256_fnmadd_ps(fn, ln2_hi, v);
    v = _mm256_fnmadd_ps(fn, ln2_lo, v);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(v, v), _mm256_add_ps(v, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fn), _mm256_set1_epi32(127)), 23);
    _mm256_storeu_ps(x + j, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
  }
  for (; j < n; ++j) x[j] = std::exp(x[j] - m);
}

inline float hsum8(__m256 v) {
  const __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));
  return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehdup_ps(b)));
}

// s[j] = q . K_j: four keys at a time share each load of q; two accumulators per key hide FMA latency.
inline void block_scores(const float* q, const float* kb, int64_t n, int64_t dk, float* s) {
  int64_t j = 0;
  if (dk % 16 == 0) {
    for (; j + 4 <= n; j += 4) {
      __m256 a[8];
      for (auto& x : a) x = _mm256_setzero_ps();
      const float* k0 = kb + j * dk;
      for (int64_t i = 0; i < dk; i += 16) {
        const __m256 q0 = _mm256_loadu_ps(q + i), q1 = _mm256_loadu_ps(q + i + 8);
        for (int r = 0; r < 4; ++r) {
          a[2 * r] = _mm256_fmadd_ps(q0, _mm256_loadu_ps(k0 + r * dk + i), a[2 * r]);
          a[2 * r + 1] = _mm256_fmadd_ps(q1, _mm256_loadu_ps(k0 + r * dk + i + 8), a[2 * r + 1]);
        }
      }
      for (int r = 0; r < 4; ++r) s[j + r] = hsum8(_mm256_add_ps(a[2 * r], a[2 * r + 1]));
    }
  }
  for (; j < n; ++j) {
    float acc = 0;
    for (int64_t i = 0; i < dk; ++i) acc += q[i] * kb[j * dk + i];
    s[j] = acc;
  }
}

// acc += sum_j p[j] * V_j, 32 output columns at a time so they stay in registers across the block.
inline void block_pv(const float* p, int64_t n, const float* vb, int64_t dv, float* acc) {
  int64_t c0 = 0;
  for (; c0 + 32 <= dv; c0 += 32) {
    __m256 a0 = _mm256_loadu_ps(acc + c0), a1 = _mm256_loadu_ps(acc + c0 + 8);
    __m256 a2 = _mm256_loadu_ps(acc + c0 + 16), a3 = _mm256_loadu_ps(acc + c0 + 24);
    for (int64_t j = 0; j < n; ++j) {
      const __m256 w = _mm256_broadcast_ss(p + j);
      const float* vr = vb + j * dv + c0;
      a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vr), a0);
      a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vr + 8), a1);
      a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vr + 16), a2);
      a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(vr + 24), a3);
    }
    _mm256_storeu_ps(acc + c0, a0);
    _mm256_storeu_ps(acc + c0 + 8, a1);
    _mm256_storeu_ps(acc + c0 + 16, a2);
    _mm256_storeu_ps(acc + c0 + 24, a3);
  }
  for (; c0 < dv; ++c0) {
    float a = acc[c0];
    for (int64_t j = 0; j < n; ++j) a += p[j] * vb[j * dv + c0];
    acc[c0] = a;
  }
}

void f16_row(const uint8_t* row, int64_t offset, float* dst, int64_t n) {
  const auto* h = reinterpret_cast<const uint16_t*>(row) + offset;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < n; ++i) dst[i] = _cvtsh_ss(h[i]);
}

void f32_row(const uint8_t* row, int64_t offset, float* dst, int64_t n) {
  std::memcpy(dst, reinterpret_cast<const float*>(row) + offset, static_cast<size_t>(n) * sizeof(float));
}
// Blocks of 32: F16 scale, 32 int8 (n a multiple of 32). d * q is exact in float, as in dequantize_q8_0.
void q8_0_row(const uint8_t* row, int64_t offset, float* dst, int64_t n) {
  const uint8_t* b = row + KvSpan::kv_bytes(TensorType::Q8_0, offset);
  for (int64_t i = 0; i < n; i += 32, b += 34, dst += 32) {
    uint16_t h;
    std::memcpy(&h, b, 2);
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(h));
    for (int k = 0; k < 32; k += 8) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 2 + k));
      _mm256_storeu_ps(dst + k, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d));
    }
  }
}

}  // namespace
}  // namespace strata::attn_avx2

#define STRATA_ATTN_PER_HEAD
#define STRATA_ATTN_NS attn_avx2
#include "ops/attention_impl.inl"
