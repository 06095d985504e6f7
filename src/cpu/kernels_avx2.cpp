// AVX2 + FMA + F16C level. The kernel bodies are shared with the AVX-512 level (x86_kernels.inl); what is
// specific here is the int8 dot-product primitive: maddubs (u8 x s8 -> pairwise i16) then madd with ones
// (-> i32), the Haswell-era sequence. Compiled with -mavx2 -mfma -mf16c -mbmi2 (CMake, by file name).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

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

}  // namespace

void detail::fill_kernels_avx2(KernelTable& table) { fill_x86_common(table); }

}  // namespace strata::cpu
