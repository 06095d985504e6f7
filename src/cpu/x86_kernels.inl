// 256-bit integer kernels shared by the AVX2 and AVX-512 levels. Textually included by kernels_avx2.cpp and
// kernels_avx512.cpp *inside an anonymous namespace*, after each defines `struct Ops` (its int8 dot-product
// primitive): every function here therefore has internal linkage and is compiled once per ISA with that
// file's flags, so the linker can never hand the AVX-512 copy to an AVX2-only machine (the ODR trap of
// inline functions shared between differently-flagged files). No #includes here for the same reason,
// except the sibling .inl bodies (x86_rowdot.inl), which follow the same rule.
//
// Design (docs/performance.md has the numbers):
//  * Weights are read in their GGUF layout; a block is decoded once into signed int8 "levels" (32 per
//    __m256i) plus integer scales, and then dotted with up to kTileCols activation rows. Decode (1 row) and
//    prefill (4 rows per decoded block) share one template, `dot<NC>`.
//  * u8 x s8 products use the sign trick: |w| (unsigned) times a * sign(w), so one Ops::dot primitive serves
//    signed and unsigned weights. maddubs cannot saturate: |w| <= 128 and |a| <= 127 (our quantizers never
//    emit -128), so a pair sum is at most 2 * 128 * 127 = 32512 < 32767.
//  * Integer sums are exact and equal the reference's; the float part (d_w * d_a * isum, the min terms) is
//    accumulated in 8 float lanes and reduced at the end, a different order from the reference.
//  * Dequantization and activation quantization follow the reference's float evaluation order, so they are
//    bit-exact. GCC contracts mul+add into FMA here (C++ defaults to -ffp-contract=fast, and these files have
//    -mfma), which is harmless for dequantization only because every product there is exact in float:
//    d (fp16, 11 significant bits) x integer scale (<= 8 bits) x level (<= 6 bits) fits in 24 bits, so the
//    fused and unfused results are the same. The quantizers have no mul+add pairs.

using strata::quant::load_f32;
using strata::quant::load_i16;
using strata::quant::load_u16;
using strata::quant::load_u32;

// ---------------------------------------------------------------------------------------------------------
// Small helpers

inline float fp16(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// Decode streams weights from DRAM once, and the hardware prefetcher alone does not keep enough lines in
// flight while the core is busy decoding blocks: a Q4_K matvec read 5.5 GB/s from DRAM against 10 GB/s
// for a plain read on this VM, 9.7-10 GB/s once every line was requested 4 KiB ahead into L1. With both
// threads streaming, requesting each line twice does better: into L2 16 KiB ahead (enough lines in flight
// to cover DRAM latency at the machine's read rate, without holding an L1 fill buffer for the whole trip)
// and into L1 1 KiB ahead so the loads hit (qwen3 slice, 2 threads, alternating quiet runs: plain rows
// 41-46 -> 44-48 tok/s, interleaved rows 41-45 -> 50-54). Past the end of a row range the hints are
// harmless, as prefetches never fault; offsets 0, 64, ... < kBytes per block leave no line of a run out.
template <int kBytes>
inline void prefetch_ahead(const void* block) {
  const char* p = static_cast<const char*>(block);
  for (int off = 0; off < kBytes; off += 64) {
    _mm_prefetch(p + (16 << 10) + off, _MM_HINT_T1);
    _mm_prefetch(p + (1 << 10) + off, _MM_HINT_T0);
  }
}

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// 16 packed bytes -> 32 nibbles: low nibbles are elements 0..15, high nibbles 16..31 (the legacy/IQ4 order).
inline __m256i nibbles_lo_hi(const uint8_t* qs) {
  const __m128i x = load128(qs);
  const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(x), _mm_srli_epi16(x, 4), 1);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

// Byte j = 0xFF where bit j of x is set: each byte picks its source byte of x, then ORing in all bits
// but "its own" turns the byte into 0xFF exactly when that bit was set.
inline __m256i bits_to_bytes(uint32_t x) {
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x)), shuf);
  const __m256i others = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
  return _mm256_cmpeq_epi8(_mm256_or_si256(b, others), _mm256_set1_epi64x(-1));
}

inline __m256i iq4_table() {
  return _mm256_broadcastsi128_si256(load128(strata::quant::kValuesIQ4NL));
}

// Activation block layouts (bytes): Q8_0 d@0 qs@2 (34); Q8_1 d@0 s@2 qs@4 (36); Q8_K d(f32)@0 qs@4 bsums@260.
constexpr int kQ8_0Bytes = 34, kQ8_1Bytes = 36, kQ8_KBytes = 292;

// ---------------------------------------------------------------------------------------------------------
// 32-element weight types against Q8_0 / Q8_1. Each decoder gives the block's 32 levels as int8 (the real
// integer the reference multiplies: q - 8 for Q4_0, the table value for IQ4_NL, ...), its fp16 scale d and
// for the "_1" types the fp16 min m (whose dot contribution is m * s_activation).

struct DecQ4_0 {
  static constexpr int kBytes = 18, kActBytes = kQ8_0Bytes, kActQs = 2;
  static constexpr bool kNonNeg = false, kHasMin = false;
  static __m256i levels(const uint8_t* b) { return _mm256_sub_epi8(nibbles_lo_hi(b + 2), _mm256_set1_epi8(8)); }
};
struct DecQ4_1 {
  static constexpr int kBytes = 20, kActBytes = kQ8_1Bytes, kActQs = 4;
  static constexpr bool kNonNeg = true, kHasMin = true;
  static __m256i levels(const uint8_t* b) { return nibbles_lo_hi(b + 4); }
};
struct DecQ5_0 {
  static constexpr int kBytes = 22, kActBytes = kQ8_0Bytes, kActQs = 2;
  static constexpr bool kNonNeg = false, kHasMin = false;
  static __m256i levels(const uint8_t* b) {
    const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b + 2)), _mm256_set1_epi8(16));
    return _mm256_sub_epi8(_mm256_or_si256(nibbles_lo_hi(b + 6), hi), _mm256_set1_epi8(16));
  }
};
struct DecQ5_1 {
  static constexpr int kBytes = 24, kActBytes = kQ8_1Bytes, kActQs = 4;
  static constexpr bool kNonNeg = true, kHasMin = true;
  static __m256i levels(const uint8_t* b) {
    const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b + 4)), _mm256_set1_epi8(16));
    return _mm256_or_si256(nibbles_lo_hi(b + 8), hi);
  }
};
struct DecQ8_0 {
  static constexpr int kBytes = 34, kActBytes = kQ8_0Bytes, kActQs = 2;
  static constexpr bool kNonNeg = false, kHasMin = false;
  static __m256i levels(const uint8_t* b) { return load256(b + 2); }
};
// Q8_1 only ever holds activations; as a "weight" the reference dots it like Q8_0 (no min term).
struct DecQ8_1 {
  static constexpr int kBytes = 36, kActBytes = kQ8_1Bytes, kActQs = 4;
  static constexpr bool kNonNeg = false, kHasMin = false;
  static __m256i levels(const uint8_t* b) { return load256(b + 4); }
};
struct DecIQ4_NL {
  static constexpr int kBytes = 18, kActBytes = kQ8_0Bytes, kActQs = 2;
  static constexpr bool kNonNeg = false, kHasMin = false;
  static __m256i levels(const uint8_t* b) { return _mm256_shuffle_epi8(iq4_table(), nibbles_lo_hi(b + 2)); }
};

template <class D>
struct LegacyDot {
  static constexpr int kBlock = 32;
  template <int NC>
  static void dot(const uint8_t* w, const uint8_t* const* a, int64_t n, float* out) {
    __m256 acc[NC];
    float macc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps(), macc[c] = 0.f;
    const int64_t nb = n / kBlock;
    for (int64_t i = 0; i < nb; ++i, w += D::kBytes) {
      if constexpr (NC == 1) prefetch_ahead<D::kBytes>(w);
      const __m256i q = D::levels(w);
      const __m256i uq = D::kNonNeg ? q : _mm256_sign_epi8(q, q);
      const float dw = fp16(w);
      for (int c = 0; c < NC; ++c) {
        const uint8_t* ab = a[c] + i * D::kActBytes;
        __m256i av = load256(ab + D::kActQs);
        if constexpr (!D::kNonNeg) av = _mm256_sign_epi8(av, q);
        const __m256i p = Ops::dot(_mm256_setzero_si256(), uq, av);
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * fp16(ab)), acc[c]);
        if constexpr (D::kHasMin) macc[c] += fp16(w + 2) * fp16(ab + 2);
      }
    }
    for (int c = 0; c < NC; ++c) out[c] = hsum(acc[c]) + macc[c];
  }
  // Reference order: float(level) * d (+ m for the "_1" types).
  static void dequantize(const void* src, float* y, int64_t n) {
    const auto* w = static_cast<const uint8_t*>(src);
    for (int64_t i = 0; i < n / kBlock; ++i, w += D::kBytes, y += kBlock) {
      const __m256i q = D::levels(w);
      const __m256 d = _mm256_set1_ps(fp16(w));
      const __m256 m = _mm256_set1_ps(D::kHasMin ? fp16(w + 2) : 0.f);
      const __m128i q0 = _mm256_castsi256_si128(q), q1 = _mm256_extracti128_si256(q, 1);
      const __m128i parts[4] = {q0, _mm_srli_si128(q0, 8), q1, _mm_srli_si128(q1, 8)};
      for (int k = 0; k < 4; ++k) {
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[k])), d);
        if constexpr (D::kHasMin) v = _mm256_add_ps(v, m);
        _mm256_storeu_ps(y + 8 * k, v);
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------------------
// 256-element types against Q8_K. A decoder gives 8 chunks of 32 int8 levels (chunk k = elements
// 32k..32k+31), one integer scale per 16 elements (scale16; for per-32 types only even entries are read,
// kScalePer32) and, for types with mins, one integer min per 16 elements (dot contribution
// -dmin * d_a * sum_g min16[g] * bsums[g], exactly the reference's integer `summ`).

#include "cpu/x86_rowdot.inl"

struct KBlock {
  __m256i q[8];
  alignas(32) int16_t sc[16];
  alignas(32) int16_t mn[16];
  float d, dmin;
};

struct DecQ2_K {
  static constexpr int kBytes = 84;
  static constexpr bool kNonNeg = true, kHasMin = true, kScalePer32 = false;
  static __m256 row_acc(const uint8_t* w, const uint8_t* a, int64_t nb) { return rowacc_q2_k(w, a, nb); }
  static void decode(const uint8_t* b, KBlock& k) {
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; ++h) {
      const __m256i qs = load256(b + 16 + 32 * h);
      k.q[4 * h + 0] = _mm256_and_si256(qs, m3);
      k.q[4 * h + 1] = _mm256_and_si256(_mm256_srli_epi16(qs, 2), m3);
      k.q[4 * h + 2] = _mm256_and_si256(_mm256_srli_epi16(qs, 4), m3);
      k.q[4 * h + 3] = _mm256_and_si256(_mm256_srli_epi16(qs, 6), m3);
    }
    const __m128i s = load128(b);
    _mm256_store_si256(reinterpret_cast<__m256i*>(k.sc), _mm256_cvtepu8_epi16(_mm_and_si128(s, _mm_set1_epi8(15))));
    _mm256_store_si256(reinterpret_cast<__m256i*>(k.mn),
                       _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(15))));
    k.d = fp16(b + 80);
    k.dmin = fp16(b + 82);
  }
};

struct DecQ3_K {
  static constexpr int kBytes = 110;
  static constexpr bool kNonNeg = false, kHasMin = false, kScalePer32 = false;
  static __m256 row_acc(const uint8_t* w, const uint8_t* a, int64_t nb) { return rowacc_q3_k(w, a, nb); }
  static void decode(const uint8_t* b, KBlock& k) {
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4), zero = _mm256_setzero_si256();
    const __m256i hm = load256(b);
    for (int h = 0; h < 2; ++h) {
      const __m256i qs = load256(b + 32 + 32 * h);
      for (int s = 0; s < 4; ++s) {
        const int idx = 4 * h + s;
        const __m256i q2 = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * s), m3);
        // A clear high bit means level - 4.
        const __m256i clear = _mm256_cmpeq_epi8(_mm256_and_si256(hm, _mm256_set1_epi8(static_cast<char>(1 << idx))), zero);
        k.q[idx] = _mm256_sub_epi8(q2, _mm256_and_si256(clear, four));
      }
    }
    // 16 six-bit scales: low nibbles in bytes 0..7, two high bits per scale in bytes 8..11 (FORMATS 2.6),
    // unpacked four at a time in 32-bit words.
    uint32_t aux[3];
    std::memcpy(aux, b + 96, 12);
    const uint32_t t = aux[2];
    uint32_t s[4];
    s[0] = (aux[0] & 0x0f0f0f0f) | (((t >> 0) & 0x03030303) << 4);
    s[1] = (aux[1] & 0x0f0f0f0f) | (((t >> 2) & 0x03030303) << 4);
    s[2] = ((aux[0] >> 4) & 0x0f0f0f0f) | (((t >> 4) & 0x03030303) << 4);
    s[3] = ((aux[1] >> 4) & 0x0f0f0f0f) | (((t >> 6) & 0x03030303) << 4);
    const __m128i sv = _mm_sub_epi8(load128(s), _mm_set1_epi8(32));
    _mm256_store_si256(reinterpret_cast<__m256i*>(k.sc), _mm256_cvtepi8_epi16(sv));
    k.d = fp16(b + 108);
    k.dmin = 0.f;
  }
};

// The 12-byte 6-bit scale/min packing of Q4_K and Q5_K, unpacked in 32-bit words: sc[0..7], m[0..7].
inline void unpack_scale_min_k4(const uint8_t* S, uint8_t* sc, uint8_t* m) {
  uint32_t u[3];
  std::memcpy(u, S, 12);
  const uint32_t sc_lo = u[0] & 0x3f3f3f3f, m_lo = u[1] & 0x3f3f3f3f;
  const uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
  const uint32_t m_hi = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
  std::memcpy(sc, &sc_lo, 4);
  std::memcpy(sc + 4, &sc_hi, 4);
  std::memcpy(m, &m_lo, 4);
  std::memcpy(m + 4, &m_hi, 4);
}

inline void k4_scales(const uint8_t* S, KBlock& k) {
  alignas(16) uint8_t sc[16], m[16];
  unpack_scale_min_k4(S, sc, m);
  // Per-32 scale j lands in scale16[2j]; mins are duplicated to both 16-groups so madd with bsums works.
  const __m128i s8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc));
  const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(m));
  _mm256_store_si256(reinterpret_cast<__m256i*>(k.sc), _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(s8, s8)));
  _mm256_store_si256(reinterpret_cast<__m256i*>(k.mn), _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)));
}

struct DecQ4_K {
  static constexpr int kBytes = 144;
  static constexpr bool kNonNeg = true, kHasMin = true, kScalePer32 = true;
  static __m256 row_acc(const uint8_t* w, const uint8_t* a, int64_t nb) { return rowacc_q4_k(w, a, nb); }
  static void decode(const uint8_t* b, KBlock& k) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int c = 0; c < 4; ++c) {
      const __m256i qs = load256(b + 16 + 32 * c);
      k.q[2 * c] = _mm256_and_si256(qs, m4);
      k.q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(qs, 4), m4);
    }
    k4_scales(b + 4, k);
    k.d = fp16(b);
    k.dmin = fp16(b + 2);
  }
};

struct DecQ5_K {
  static constexpr int kBytes = 176;
  static constexpr bool kNonNeg = true, kHasMin = true, kScalePer32 = true;
  static __m256 row_acc(const uint8_t* w, const uint8_t* a, int64_t nb) { return rowacc_q5_k(w, a, nb); }
  static void decode(const uint8_t* b, KBlock& k) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), b4 = _mm256_set1_epi8(16);
    const __m256i qh = load256(b + 16);
    for (int c = 0; c < 4; ++c) {
      const __m256i qs = load256(b + 48 + 32 * c);
      // Bit 2c (low nibbles) / 2c+1 (high nibbles) of qh[l] moved to bit 4.
      const __m256i h0 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * c), 4), b4);
      const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(qh, 2 * c + 1), 4), b4);
      k.q[2 * c] = _mm256_or_si256(_mm256_and_si256(qs, m4), h0);
      k.q[2 * c + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qs, 4), m4), h1);
    }
    k4_scales(b + 4, k);
    k.d = fp16(b);
    k.dmin = fp16(b + 2);
  }
};

struct DecQ6_K {
  static constexpr int kBytes = 210;
  static constexpr bool kNonNeg = false, kHasMin = false, kScalePer32 = false;
  static __m256 row_acc(const uint8_t* w, const uint8_t* a, int64_t nb) { return rowacc_q6_k(w, a, nb); }
  static void decode(const uint8_t* b, KBlock& k) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
    for (int h = 0; h < 2; ++h) {
      const __m256i qa = load256(b + 64 * h), qb = load256(b + 64 * h + 32);
      const __m256i qh = load256(b + 128 + 32 * h);
      const __m256i h0 = _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2);
      const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2);
      const __m256i h2 = _mm256_and_si256(qh, m2);
      const __m256i h3 = _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2);
      k.q[4 * h + 0] = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(qa, m4), h0), off);
      k.q[4 * h + 1] = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(qb, m4), h1), off);
      k.q[4 * h + 2] = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), m4), h2), off);
      k.q[4 * h + 3] = _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), m4), h3), off);
    }
    _mm256_store_si256(reinterpret_cast<__m256i*>(k.sc), _mm256_cvtepi8_epi16(load128(b + 192)));
    k.d = fp16(b + 208);
    k.dmin = 0.f;
  }
};

// Q8_K as a weight (no ggml kernel; the reference is a plain per-block dot): unit scales, f32 d.
struct DecQ8_K {
  static constexpr int kBytes = 292;
  static constexpr bool kNonNeg = false, kHasMin = false, kScalePer32 = true;
  static void decode(const uint8_t* b, KBlock& k) {
    for (int c = 0; c < 8; ++c) k.q[c] = load256(b + 4 + 32 * c);
    _mm256_store_si256(reinterpret_cast<__m256i*>(k.sc), _mm256_set1_epi16(1));
    k.d = load_f32(b);
    k.dmin = 0.f;
  }
};

struct DecIQ4_XS {
  static constexpr int kBytes = 136;
  static constexpr bool kNonNeg = false, kHasMin = false, kScalePer32 = true;
  static void decode(const uint8_t* b, KBlock& k) {
    const __m256i table = iq4_table();
    for (int ib = 0; ib < 8; ++ib) k.q[ib] = _mm256_shuffle_epi8(table, nibbles_lo_hi(b + 8 + 16 * ib));
    const uint32_t sh = load_u16(b + 2), sl = load_u32(b + 4);
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = static_cast<int>(((sl >> (4 * ib)) & 15) | (((sh >> (2 * ib)) & 3) << 4));
      k.sc[2 * ib] = k.sc[2 * ib + 1] = static_cast<int16_t>(ls - 32);
    }
    k.d = fp16(b);
    k.dmin = 0.f;
  }
};

template <class D>
struct KDot {
  static constexpr int kBlock = 256;
  static constexpr bool kHasRowAcc = requires(const uint8_t* p) { D::row_acc(p, p, 1); };
  // Matrix-vector: rows four at a time, one reduction per four rows.
  static void matvec(const uint8_t* w, size_t stride, int64_t nr, const uint8_t* a, int64_t n, float* y)
    requires kHasRowAcc
  {
    const int64_t nb = n / kBlock;
    int64_t r = 0;
    for (; r + 4 <= nr; r += 4, w += 4 * stride) {
      const __m256 v0 = D::row_acc(w, a, nb), v1 = D::row_acc(w + stride, a, nb);
      const __m256 v2 = D::row_acc(w + 2 * stride, a, nb), v3 = D::row_acc(w + 3 * stride, a, nb);
      _mm_storeu_ps(y + r, hsum4(v0, v1, v2, v3));
    }
    for (; r < nr; ++r, w += stride) y[r] = hsum(D::row_acc(w, a, nb));
  }
  template <int NC>
  static void dot(const uint8_t* w, const uint8_t* const* a, int64_t n, float* out) {
    if constexpr (NC == 1 && kHasRowAcc) {
      out[0] = hsum(D::row_acc(w, a[0], n / kBlock));
      return;
    }
    // Min terms go to their own vector accumulator: a horizontal integer sum per super-block would put a
    // shuffle chain and an int->float round trip on the critical path of every block.
    __m256 acc[NC], macc[NC];
    for (int c = 0; c < NC; ++c) acc[c] = macc[c] = _mm256_setzero_ps();
    const int64_t nb = n / kBlock;
    KBlock k;
    for (int64_t i = 0; i < nb; ++i, w += D::kBytes) {
      if constexpr (NC == 1) prefetch_ahead<D::kBytes>(w);
      D::decode(w, k);
      __m256i uq[8], scv[8];
      for (int j = 0; j < 8; ++j) {
        uq[j] = D::kNonNeg ? k.q[j] : _mm256_sign_epi8(k.q[j], k.q[j]);
        // maddubs pairs elements (2i, 2i+1): i16 lane i of the low half covers elements 0..15 of the chunk,
        // the high half 16..31, so one broadcast per 16-group applies the scale.
        scv[j] = D::kScalePer32 ? _mm256_set1_epi16(k.sc[2 * j])
                                : _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(k.sc[2 * j])),
                                                          _mm_set1_epi16(k.sc[2 * j + 1]), 1);
      }
      for (int c = 0; c < NC; ++c) {
        const uint8_t* ab = a[c] + i * kQ8_KBytes;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 8; ++j) {
          __m256i av = load256(ab + 4 + 32 * j);
          if constexpr (!D::kNonNeg) av = _mm256_sign_epi8(av, k.q[j]);
          sumi = Ops::dot_scaled(sumi, uq[j], av, scv[j]);
        }
        const float dy = load_f32(ab);
        acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(k.d * dy), acc[c]);
        if constexpr (D::kHasMin) {
          const __m256i prod = _mm256_madd_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(k.mn)),
                                                 load256(ab + 260));
          macc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(prod), _mm256_set1_ps(k.dmin * dy), macc[c]);
        }
      }
    }
    for (int c = 0; c < NC; ++c) out[c] = D::kHasMin ? hsum(acc[c]) - hsum(macc[c]) : hsum(acc[c]);
  }
  // Reference order per 16-group g: (d * scale) * float(level) - (dmin * min).
  static void dequantize(const void* src, float* y, int64_t n) {
    const auto* w = static_cast<const uint8_t*>(src);
    KBlock k;
    for (int64_t i = 0; i < n / kBlock; ++i, w += D::kBytes) {
      D::decode(w, k);
      for (int j = 0; j < 8; ++j, y += 32) {
        const __m128i q0 = _mm256_castsi256_si128(k.q[j]), q1 = _mm256_extracti128_si256(k.q[j], 1);
        const __m128i parts[4] = {q0, _mm_srli_si128(q0, 8), q1, _mm_srli_si128(q1, 8)};
        for (int p = 0; p < 4; ++p) {
          const int g = D::kScalePer32 ? 2 * j : 2 * j + p / 2;
          const __m256 dl = _mm256_set1_ps(k.d * static_cast<float>(k.sc[g]));
          __m256 v = _mm256_mul_ps(dl, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[p])));
          if constexpr (D::kHasMin) v = _mm256_sub_ps(v, _mm256_set1_ps(k.dmin * static_cast<float>(k.mn[g])));
          _mm256_storeu_ps(y + 8 * p, v);
        }
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------------------
// Float weights dotted with activations of the same type. Products of F16/BF16 values are exact in float;
// the reference then sums them in double, these kernels in 4x8 float lanes with FMA.

inline __m256 load_f16x8(const uint8_t* p) { return _mm256_cvtph_ps(load128(p)); }
inline __m256 load_bf16x8(const uint8_t* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
}
inline __m256 load_f32x8(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }

template <int kElemBytes, __m256 (*Load)(const uint8_t*), float (*Scalar)(const uint8_t*)>
struct FloatDot {
  static constexpr int kBlock = 1;
  template <int NC>
  static void dot(const uint8_t* w, const uint8_t* const* a, int64_t n, float* out) {
    __m256 acc[NC][2];
    for (int c = 0; c < NC; ++c) acc[c][0] = acc[c][1] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      if constexpr (NC == 1) prefetch_ahead<16 * kElemBytes>(w + kElemBytes * i);
      const __m256 w0 = Load(w + kElemBytes * i), w1 = Load(w + kElemBytes * (i + 8));
      for (int c = 0; c < NC; ++c) {
        acc[c][0] = _mm256_fmadd_ps(w0, Load(a[c] + kElemBytes * i), acc[c][0]);
        acc[c][1] = _mm256_fmadd_ps(w1, Load(a[c] + kElemBytes * (i + 8)), acc[c][1]);
      }
    }
    for (int c = 0; c < NC; ++c) {
      float s = hsum(_mm256_add_ps(acc[c][0], acc[c][1]));
      for (int64_t j = i; j < n; ++j) s += Scalar(w + kElemBytes * j) * Scalar(a[c] + kElemBytes * j);
      out[c] = s;
    }
  }
};

inline float scalar_f32(const uint8_t* p) { return load_f32(p); }
inline float scalar_f16(const uint8_t* p) { return fp16(p); }
inline float scalar_bf16(const uint8_t* p) { return strata::bf16_to_fp32(load_u16(p)); }

using DotF32 = FloatDot<4, load_f32x8, scalar_f32>;
using DotF16 = FloatDot<2, load_f16x8, scalar_f16>;
using DotBF16 = FloatDot<2, load_bf16x8, scalar_bf16>;

void dequantize_f16_simd(const void* src, float* y, int64_t n) {
  const auto* p = static_cast<const uint8_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16x8(p + 2 * i));
  for (; i < n; ++i) y[i] = fp16(p + 2 * i);
}
void dequantize_bf16_simd(const void* src, float* y, int64_t n) {
  const auto* p = static_cast<const uint8_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_bf16x8(p + 2 * i));
  for (; i < n; ++i) y[i] = scalar_bf16(p + 2 * i);
}
// e^x lane-wise, for the FFN activation (no other kernel here needs it). Cephes-style reduction x = n ln2 + r
// with ln2 split in two, degree-6 polynomial in r: within 2 ulp of expf (tests/cpu Swiglu.MatchesTheExactValueWithinUlps).
// Where expf overflows (x > ln FLT_MAX) the lane is +inf, as expf returns; below -87.3 it is ~1.2e-38
// rather than a denormal, which no caller can tell from 0 (silu adds it to 1). The scale 2^n is applied as
// two halves so n = 128 (x just below ln FLT_MAX) does not overflow the exponent field.
inline __m256 exp8(__m256 x) {
  const __m256 big = _mm256_cmp_ps(x, _mm256_set1_ps(88.7228394f), _CMP_GT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7228394f));
  const __m256 fn = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i n = _mm256_cvtps_epi32(fn);
  const __m256i h = _mm256_srai_epi32(n, 1);
  auto pow2 = [](__m256i e) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23)); };
  p = _mm256_mul_ps(_mm256_mul_ps(p, pow2(h)), pow2(_mm256_sub_epi32(n, h)));
  return _mm256_blendv_ps(p, _mm256_set1_ps(INFINITY), big);
}

// The reference's silu(z) = z / (1 + e^-z) lane-wise, so infinities and NaNs come out as the scalar ones do
// (z = -inf: -inf / inf = NaN; a large negative z: z / inf = -0).
void swiglu_simd(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 z = _mm256_loadu_ps(gate + i);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), z));
    const __m256 s = _mm256_div_ps(z, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// F16C rounds to nearest even and quiets NaNs like strata::fp32_to_fp16, so this is bit-exact.
void quantize_f16_simd(const float* x, void* dst, int64_t n) {
  auto* p = static_cast<uint8_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 2 * i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) strata::quant::store_u16(p + 2 * i, strata::fp32_to_fp16(x[i]));
}
// Integer round-to-nearest-even on the top half, NaNs forced quiet: the reference's arithmetic lane-wise.
// (VCVTNEPS2BF16 is not used: it flushes denormal inputs to zero.)
void quantize_bf16_simd(const float* x, void* dst, int64_t n) {
  auto* p = static_cast<uint8_t*>(dst);
  int64_t i = 0;
  const __m256i abs_mask = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000);
  for (; i + 8 <= n; i += 8) {
    const __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + i));
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), lsb)), 16);
    const __m256i nan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
    const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);
    const __m256i r = _mm256_blendv_epi8(rounded, nan, is_nan);
    // 32-bit lanes hold 16-bit results: pack (unsigned saturation is a no-op, values < 65536) and fix order.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 2 * i), _mm256_castsi256_si128(packed));
  }
  for (; i < n; ++i) strata::quant::store_u16(p + 2 * i, strata::fp32_to_bf16(x[i]));
}

// ---------------------------------------------------------------------------------------------------------
// Activation quantizers, bit-identical to the reference: max and division are exact operations whatever
// the order, roundf is rebuilt from truncation (so ties go away from zero like the reference, not to even
// like ggml's own AVX2 path), and Q8_K's nearest_int is the hardware's round-to-nearest-even conversion.

inline float max_abs32(const float* x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x));
  for (int k = 8; k < 32; k += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)));
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// roundf(v): truncate, then step one away from zero when the dropped fraction is >= 0.5 (v - trunc(v) is
// exact for floats).
inline __m256i roundf_epi32(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, t));
  const __m256 up = _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ),
                                  _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f))));
  return _mm256_cvttps_epi32(_mm256_add_ps(t, up));
}

// Four vectors of 8 int32 (each in [-127, 127]) -> 32 int8 in element order.
inline __m256i pack_32x_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  const __m256i x = _mm256_packs_epi16(ab, cd);
  // packs interleaves 128-bit lanes: dwords come out as a0 b0 c0 d0 a1 b1 c1 d1 (4 elements each).
  return _mm256_permutevar8x32_epi32(x, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline float quantize_block_q8_simd(const float* x, int8_t* qs) {
  const float amax = max_abs32(x);
  const float d = amax / 127.f;
  const float id = d != 0.f ? 1.0f / d : 0.0f;
  const __m256 idv = _mm256_set1_ps(id);
  __m256i q[4];
  for (int k = 0; k < 4; ++k) q[k] = roundf_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), idv));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_32x_i8(q[0], q[1], q[2], q[3]));
  return d;
}

void quantize_q8_0_simd(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / 32; ++i, b += kQ8_0Bytes, x += 32) {
    const float d = quantize_block_q8_simd(x, reinterpret_cast<int8_t*>(b + 2));
    strata::quant::store_fp16(b, d);
  }
}

void quantize_q8_1_simd(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / 32; ++i, b += kQ8_1Bytes, x += 32) {
    const float d = quantize_block_q8_simd(x, reinterpret_cast<int8_t*>(b + 4));
    const __m256i q = load256(b + 4);
    // Sum of 32 int8 via maddubs with ones (|q| <= 127, no saturation).
    const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q);
    const int sum = hsum_i32(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
    strata::quant::store_fp16(b, d);
    strata::quant::store_fp16(b + 2, static_cast<float>(sum) * d);
  }
}

void quantize_q8_k_simd(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<uint8_t*>(dst);
  for (int64_t i = 0; i < n / 256; ++i, b += kQ8_KBytes, x += 256) {
    float amax = 0.f;
    for (int k = 0; k < 256; k += 32) amax = std::max(amax, max_abs32(x + k));
    if (amax == 0.f) {
      std::memset(b, 0, kQ8_KBytes);
      continue;
    }
    // The reference keeps the *first* element of largest magnitude (its sign decides the sign of d).
    float max = 0.f;
    for (int k = 0; k < 256; k += 8) {
      const __m256 v = _mm256_loadu_ps(x + k);
      const int hit = _mm256_movemask_ps(
          _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), v), _mm256_set1_ps(amax), _CMP_EQ_OQ));
      if (hit) {
        max = x[k + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 is = _mm256_set1_ps(iscale);
    const __m256i top = _mm256_set1_epi32(127);
    auto* qs = reinterpret_cast<int8_t*>(b + 4);
    for (int k = 0; k < 256; k += 32) {
      __m256i q[4];
      for (int j = 0; j < 4; ++j)  // cvtps rounds to nearest even, as nearest_int does
        q[j] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(is, _mm256_loadu_ps(x + k + 8 * j))), top);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + k), pack_32x_i8(q[0], q[1], q[2], q[3]));
    }
    // bsums: 16 sums of 16 int8. maddubs(1, q) gives pair sums; madd with ones gives sums of 4; hadd twice.
    __m256i s4[8];
    for (int k = 0; k < 8; ++k)
      s4[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), load256(qs + 32 * k)), _mm256_set1_epi16(1));
    alignas(32) int32_t sums[16];
    for (int k = 0; k < 8; ++k) {
      // s4[k]: sums of 4 for elements 32k..32k+31 (8 lanes); lanes 0-3 = group 2k, 4-7 = group 2k+1.
      alignas(32) int32_t t[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(t), s4[k]);
      sums[2 * k] = t[0] + t[1] + t[2] + t[3];
      sums[2 * k + 1] = t[4] + t[5] + t[6] + t[7];
    }
    for (int g = 0; g < 16; ++g) strata::quant::store_i16(b + 260 + 2 * g, static_cast<int16_t>(sums[g]));
    strata::quant::store_f32(b, 1 / iscale);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Table glue: the decode entry (vec_dot = dot<1>) and the column-blocked tile.

template <class K>
float vec_dot_simd(const void* w, const void* a, int64_t n) {
  const auto* ap = static_cast<const uint8_t*>(a);
  float r;
  K::template dot<1>(static_cast<const uint8_t*>(w), &ap, n, &r);
  return r;
}

template <class K>
void mat_tile_simd(const void* w, size_t w_stride, int64_t nr, const void* a, size_t a_stride, int64_t nc, int64_t n,
                   float* y, size_t ldy) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  if constexpr (requires { K::kHasRowAcc; }) {
    if constexpr (K::kHasRowAcc) {
      if (nc == 1) return K::matvec(wb, w_stride, nr, ab, n, y);
    }
  }
  for (int64_t c0 = 0; c0 < nc; c0 += kTileCols) {
    const int m = static_cast<int>(std::min<int64_t>(kTileCols, nc - c0));
    const uint8_t* ap[kTileCols];
    for (int j = 0; j < m; ++j) ap[j] = ab + (c0 + j) * a_stride;
    for (int64_t r = 0; r < nr; ++r) {
      const uint8_t* wr = wb + r * w_stride;
      float o[kTileCols] = {};
      switch (m) {
        case 4: K::template dot<4>(wr, ap, n, o); break;
        case 3: K::template dot<3>(wr, ap, n, o); break;
        case 2: K::template dot<2>(wr, ap, n, o); break;
        default: K::template dot<1>(wr, ap, n, o); break;
      }
      for (int j = 0; j < m; ++j) y[(c0 + j) * ldy + r] = o[j];
    }
  }
}

template <class K>
void set_dot(KernelTable& t, TensorType type) {
  TypeKernels& k = t.types[static_cast<size_t>(type)];
  k.vec_dot = vec_dot_simd<K>;
  k.mat_tile = mat_tile_simd<K>;
}

template <class K>
void set_quant(KernelTable& t, TensorType type) {
  set_dot<K>(t, type);
  t.types[static_cast<size_t>(type)].dequantize = K::dequantize;
}

// Everything the 256-bit kernels cover; a level may then replace entries with wider versions.
void fill_x86_common(KernelTable& t) {
  set_quant<LegacyDot<DecQ4_0>>(t, TensorType::Q4_0);
  set_quant<LegacyDot<DecQ4_1>>(t, TensorType::Q4_1);
  set_quant<LegacyDot<DecQ5_0>>(t, TensorType::Q5_0);
  set_quant<LegacyDot<DecQ5_1>>(t, TensorType::Q5_1);
  set_quant<LegacyDot<DecQ8_0>>(t, TensorType::Q8_0);
  set_quant<LegacyDot<DecQ8_1>>(t, TensorType::Q8_1);
  set_quant<LegacyDot<DecIQ4_NL>>(t, TensorType::IQ4_NL);
  set_quant<KDot<DecQ2_K>>(t, TensorType::Q2_K);
  set_quant<KDot<DecQ3_K>>(t, TensorType::Q3_K);
  set_quant<KDot<DecQ4_K>>(t, TensorType::Q4_K);
  set_quant<KDot<DecQ5_K>>(t, TensorType::Q5_K);
  set_quant<KDot<DecQ6_K>>(t, TensorType::Q6_K);
  set_quant<KDot<DecQ8_K>>(t, TensorType::Q8_K);
  set_quant<KDot<DecIQ4_XS>>(t, TensorType::IQ4_XS);
  set_dot<DotF32>(t, TensorType::F32);
  set_dot<DotF16>(t, TensorType::F16);
  set_dot<DotBF16>(t, TensorType::BF16);
  t.types[static_cast<size_t>(TensorType::F16)].dequantize = dequantize_f16_simd;
  t.types[static_cast<size_t>(TensorType::BF16)].dequantize = dequantize_bf16_simd;
  t.types[static_cast<size_t>(TensorType::F16)].quantize_activations = quantize_f16_simd;
  t.types[static_cast<size_t>(TensorType::BF16)].quantize_activations = quantize_bf16_simd;
  t.quantize_q8_0 = quantize_q8_0_simd;
  t.quantize_q8_1 = quantize_q8_1_simd;
  t.quantize_q8_k = quantize_q8_k_simd;
  t.swiglu = swiglu_simd;
}
