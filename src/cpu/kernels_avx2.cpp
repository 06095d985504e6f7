// AVX2 + FMA + F16C level. The kernel bodies are shared with the AVX-512 level (x86_kernels.inl); what is
// specific here is the int8 dot-product primitive: maddubs (u8 x s8 -> pairwise i16) then madd with ones
// (-> i32), the Haswell-era sequence. Compiled with -mavx2 -mfma -mf16c -mbmi2 (CMake, by file name).
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

namespace strata::cpu {
namespace {

struct Ops {
  // acc + sum of 4 adjacent u8 * s8 products per i32 lane.
  static __m256i dot(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
  }
  // acc + pairwise (u8 * s8) sums times a per-i16-lane integer scale.
  static __m256i dot_scaled(__m256i acc, __m256i u, __m256i s, __m256i scale) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale));
  }
  // acc + pairwise int16 products x * scale summed into int32 lanes.
  static __m256i madd_acc(__m256i acc, __m256i x, __m256i scale) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(x, scale));
  }
};

#include "cpu/x86_kernels.inl"

// Primitives of the prefill panel GEMM (x86_gemm.inl): 8 weight rows per 256-bit vector; without VNNI the
// quad dot is maddubs summed in int16 over a run of quads (the body bounds the run), then madd with ones.
struct GemmOps {
  using VI = __m256i;
  using VF = __m256;
  static constexpr int kRows = 8;
  static constexpr int kPanels = 1;
  static constexpr int kCols = 4;
  static constexpr int kChunk = 8;
  static constexpr int kMinCols = 3;  // at 2 tokens with weights from DRAM the per-row path is as fast
  static constexpr bool kVnni = false;

  static VI zero() { return _mm256_setzero_si256(); }
  static VI load(const void* p) { return _mm256_load_si256(static_cast<const __m256i*>(p)); }
  static VI loadu(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static VI bcast(const uint8_t* p) { return _mm256_set1_epi32(static_cast<int>(load_u32(p))); }
  static VI set1(int x) { return _mm256_set1_epi32(x); }
  static VI set1_8(int x) { return _mm256_set1_epi8(static_cast<char>(x)); }
  static VI and_(VI a, VI b) { return _mm256_and_si256(a, b); }
  static VI or_(VI a, VI b) { return _mm256_or_si256(a, b); }
  static VI add32(VI a, VI b) { return _mm256_add_epi32(a, b); }
  static VI sub32(VI a, VI b) { return _mm256_sub_epi32(a, b); }
  static VI mullo16(VI a, VI b) { return _mm256_mullo_epi16(a, b); }
  static VI shuffle8(VI table, VI idx) { return _mm256_shuffle_epi8(table, idx); }
  template <int N> static VI srli16(VI v) { return _mm256_srli_epi16(v, N); }
  template <int N> static VI slli16(VI v) { return _mm256_slli_epi16(v, N); }
  template <int N> static VI srli32(VI v) { return _mm256_srli_epi32(v, N); }
  template <int N> static VI slli32(VI v) { return _mm256_slli_epi32(v, N); }
  template <int N> static VI srai32(VI v) { return _mm256_srai_epi32(v, N); }
  static VI iq4_table_u8() {
    return _mm256_broadcastsi128_si256(_mm_xor_si128(load128(strata::quant::kValuesIQ4NL), _mm_set1_epi8(-128)));
  }
  // Run accumulator in int16: acc + pairwise u8 x s8 sums (the body keeps the run short enough).
  static VI dot(VI acc, VI u, VI s) { return _mm256_add_epi16(acc, _mm256_maddubs_epi16(u, s)); }
  static VI flush(VI acc) { return _mm256_madd_epi16(acc, _mm256_set1_epi16(1)); }
  static VI wdot(VI acc, VI a, VI b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }

  static VF zerof() { return _mm256_setzero_ps(); }
  static VF setf(float x) { return _mm256_set1_ps(x); }
  static VF cvt(VI v) { return _mm256_cvtepi32_ps(v); }
  static VF cvtph_lo(VI v) {  // fp16 in the low halves of the int32 lanes
    const VI p = _mm256_packus_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0xFFFF)), _mm256_setzero_si256());
    return _mm256_cvtph_ps(_mm256_castsi256_si128(_mm256_permute4x64_epi64(p, 0x08)));
  }
  static VF mulf(VF a, VF b) { return _mm256_mul_ps(a, b); }
  static VF addf(VF a, VF b) { return _mm256_add_ps(a, b); }
  static VF fma(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
  static VF fnma(VF a, VF b, VF c) { return _mm256_fnmadd_ps(a, b, c); }
  static VF loadf(const void* p) { return _mm256_load_ps(static_cast<const float*>(p)); }
  static VF loadfu(const float* p) { return _mm256_loadu_ps(p); }
  static void storefu(float* p, VF v) { _mm256_storeu_ps(p, v); }
  static VI part_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static VF loadf_part(const float* p, int n) { return _mm256_maskload_ps(p, part_mask(n)); }
  static void storef_part(float* p, VF v, int n) { _mm256_maskstore_ps(p, part_mask(n), v); }

  // Row i of a slab starts at p + i * s.
  [[gnu::always_inline]] static const uint8_t* row(const uint8_t* p, size_t s, int i) {
    return p + static_cast<size_t>(i) * s;
  }
  // out[q], q < 8: int32 lane i = bytes [4q, 4q + 4) of the 32 bytes at p + i * s, rows i < 8.
  [[gnu::always_inline]] static void trans32(const uint8_t* p, size_t s, VI* out) {
    for (int h = 0; h < 2; ++h) {
      VI z[4];
      for (int i = 0; i < 4; ++i)
        z[i] = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(row(p, s, i) + 16 * h)),
                                       load128(row(p, s, i + 4) + 16 * h), 1);
      const VI l01 = _mm256_unpacklo_epi32(z[0], z[1]), h01 = _mm256_unpackhi_epi32(z[0], z[1]);
      const VI l23 = _mm256_unpacklo_epi32(z[2], z[3]), h23 = _mm256_unpackhi_epi32(z[2], z[3]);
      out[4 * h + 0] = _mm256_unpacklo_epi64(l01, l23);
      out[4 * h + 1] = _mm256_unpackhi_epi64(l01, l23);
      out[4 * h + 2] = _mm256_unpacklo_epi64(h01, h23);
      out[4 * h + 3] = _mm256_unpackhi_epi64(h01, h23);
    }
  }
  // out[e], e < 4: int32 lane i = bytes [4e, 4e + 4) of the 16 bytes at p + i * s.
  [[gnu::always_inline]] static void trans16(const uint8_t* p, size_t s, VI* out) {
    VI z[4];
    for (int i = 0; i < 4; ++i)
      z[i] = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(row(p, s, i))), load128(row(p, s, i + 4)), 1);
    const VI l01 = _mm256_unpacklo_epi32(z[0], z[1]), h01 = _mm256_unpackhi_epi32(z[0], z[1]);
    const VI l23 = _mm256_unpacklo_epi32(z[2], z[3]), h23 = _mm256_unpackhi_epi32(z[2], z[3]);
    out[0] = _mm256_unpacklo_epi64(l01, l23);
    out[1] = _mm256_unpackhi_epi64(l01, l23);
    out[2] = _mm256_unpacklo_epi64(h01, h23);
    out[3] = _mm256_unpackhi_epi64(h01, h23);
  }
};

#include "cpu/x86_gemm.inl"

}  // namespace

void detail::fill_kernels_avx2(KernelTable& table) {
  fill_x86_common(table);
  fill_x86_gemm(table);
}

}  // namespace strata::cpu
