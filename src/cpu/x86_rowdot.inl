// Single-row (token decode) dots of the K-quants against one Q8_K activation row. rowacc_* return the row's
// 8 float partial sums; callers reduce several rows at once (hsum4) since a row of a 768-column expert
// matrix is only 3 super-blocks, where a reduction per row would cost as much as a block. Included by
// x86_kernels.inl inside each per-ISA file's anonymous namespace (see there for why).
//
// Decode streams every weight byte exactly once, so these loops must keep up with memory: ~13 GB/s per
// core for Q4_K means ~20 cycles per 144-byte super-block. The generic KBlock path (decode the block into
// memory, then dot) was 1.2-2.6x slower than these bodies on L2-resident rows (docs/performance.md, "Decode,
// second pass"); these keep everything in registers and differ in three ways:
//  * Unsigned levels only. Signed types (Q3_K: q-4, Q6_K: q-32) are dotted as their unsigned code u and
//    the offset is taken out per 16-group through the activation's bsums: sum(sc*(u-o)*a) =
//    sum(sc*u*a) - o * sum_g(sc_g * bsum_g). Same integers as the reference, no sign instructions.
//  * Scales are unpacked with a few vector ops and broadcast to the chunk with one pshufb from a register.
//  * All integer sums of a super-block meet in one int32 vector; one convert + FMA per super-block.
// maddubs cannot saturate: levels are <= 63 and |a| <= 127, so a pair is at most 2 * 63 * 127 = 16002.

// pshufb control putting int16 lane `lo` of each 128-bit half in all 8 lanes of the low half and int16 lane
// `hi` in all lanes of the high half.
inline __m256i i16_pick(int lo, int hi) {
  const int l = 0x0100 * (2 * lo + 1) + 2 * lo, h = 0x0100 * (2 * hi + 1) + 2 * hi;
  return _mm256_setr_epi16(l, l, l, l, l, l, l, l, h, h, h, h, h, h, h, h);
}

// The d (and dmin) fp16 pair of a block times the activation scale, as two broadcast vectors.
inline void block_scales(const uint8_t* dd, float dy, __m256& d, __m256& dmin) {
  const __m128 f = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(load_u32(dd)))), _mm_set1_ps(dy));
  d = _mm256_broadcastss_ps(f);
  dmin = _mm256_broadcastss_ps(_mm_movehdup_ps(f));
}

// acc + sum over pairs of (u8 level x s8 activation) times a per-int16-lane scale. Ops::madd_acc is
// madd + add at AVX2 and one VPDPWSSD at AVX-512 VNNI; callers spread chunks over several accumulators
// because VPDPWSSD's 5-cycle latency would otherwise chain.
inline __m256i mul_sum_us8(__m256i acc, __m256i u, const uint8_t* a, __m256i scale) {
  return Ops::madd_acc(acc, _mm256_maddubs_epi16(u, load256(a)), scale);
}

// Per-32 scales as int32 words holding the scale in both int16 halves, stored so that each chunk's scale
// vector is a VPBROADCASTD from memory (a load-port uop) instead of a shuffle on the vector ports,
// which the rest of the loop keeps busy.
inline void store_scale_pairs(__m128i sc8, int32_t* out) {
  const __m256i s32 = _mm256_cvtepu8_epi32(sc8);
  _mm256_store_si256(reinterpret_cast<__m256i*>(out), _mm256_or_si256(s32, _mm256_slli_epi32(s32, 16)));
}
// An asm statement because GCC otherwise forwards the stored vector and rebuilds each broadcast from it
// with shuffles (valignd/vpsrldq + vpbroadcastd), the p5 traffic this is meant to avoid.
inline __m256i bcast_scale(const int32_t* p) {
  __m256i v;
  asm("vpbroadcastd %1, %0" : "=x"(v) : "m"(*p));
  return v;
}

// Q4_K/Q5_K 12-byte scale+min packing -> bytes 0..7 scales, 8..15 mins (FORMATS 2.6), in vector ops.
// Lanes of x = [u0, u1, u2, *] (16 bytes read from S; the 4 past the field are the block's own qs/qh):
// low six bits of u0/u1 are sc0..3 / m0..3; sc4..7 / m4..7 are the nibbles of u2 with the top two bits
// of u0 / u1 above them. Works per 128-bit lane, so the 256-bit form unpacks two blocks at once.
inline __m128i k4_scale_min_bytes(__m128i x) {
  const __m128i lo6 = _mm_and_si128(x, _mm_set1_epi8(0x3f));
  const __m128i top2 = _mm_and_si128(_mm_srli_epi32(x, 2), _mm_set1_epi8(0x30));  // bits 6,7 -> 4,5
  const __m128i nib = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(x, 0xAA), _mm_setr_epi32(0, 4, 0, 0)),
                                    _mm_set1_epi8(0x0f));
  return _mm_unpacklo_epi32(lo6, _mm_or_si128(nib, top2));  // [sc0..3, sc4..7, m0..3, m4..7]
}
inline __m128i k4_scale_min_bytes(const uint8_t* S) { return k4_scale_min_bytes(load128(S)); }

// One Q4_K block given its unpacked scale/min bytes: integer dot into *acc (times d), min term into *macc.
inline void q4_k_block(const uint8_t* w, const uint8_t* a, __m128i sm, int32_t* sc, __m256& acc, __m256& macc) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m256 d, dmin;
  block_scales(w, load_f32(a), d, dmin);
  // mins: one per 32 -> duplicated per 16-group, dotted with the 16 bsums.
  const __m256i mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));
  macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(mins, load256(a + 260))), dmin, macc);
  store_scale_pairs(sm, sc);
  __m256i s[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
  for (int c = 0; c < 4; ++c) {
    const __m256i q = load256(w + 16 + 32 * c);
    const __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    const int k = 2 * (c & 1);
    s[k] = mul_sum_us8(s[k], lo, a + 4 + 64 * c, bcast_scale(sc + 2 * c));
    s[k + 1] = mul_sum_us8(s[k + 1], hi, a + 36 + 64 * c, bcast_scale(sc + 2 * c + 1));
  }
  const __m256i t = _mm256_add_epi32(_mm256_add_epi32(s[0], s[1]), _mm256_add_epi32(s[2], s[3]));
  acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), d, acc);
}

// Two blocks per iteration so one 256-bit pass unpacks both blocks' scales.
inline __m256 rowacc_q4_k(const uint8_t* w, const uint8_t* a, int64_t nb) {
  __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
  alignas(32) int32_t sc[16];
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2, w += 288, a += 2 * kQ8_KBytes) {
    prefetch_ahead<288>(w);
    const __m256i x = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(w + 4)), load128(w + 148), 1);
    const __m256i lo6 = _mm256_and_si256(x, _mm256_set1_epi8(0x3f));
    const __m256i top2 = _mm256_and_si256(_mm256_srli_epi32(x, 2), _mm256_set1_epi8(0x30));
    const __m256i nib = _mm256_and_si256(
        _mm256_srlv_epi32(_mm256_shuffle_epi32(x, 0xAA), _mm256_setr_epi32(0, 4, 0, 0, 0, 4, 0, 0)),
        _mm256_set1_epi8(0x0f));
    const __m256i sm2 = _mm256_unpacklo_epi32(lo6, _mm256_or_si256(nib, top2));
    q4_k_block(w, a, _mm256_castsi256_si128(sm2), sc, acc, macc);
    q4_k_block(w + 144, a + kQ8_KBytes, _mm256_extracti128_si256(sm2, 1), sc + 8, acc, macc);
  }
  if (i < nb) {
    prefetch_ahead<144>(w);
    q4_k_block(w, a, k4_scale_min_bytes(w + 4), sc, acc, macc);
  }
  return _mm256_sub_ps(acc, macc);
}

inline __m256 rowacc_q5_k(const uint8_t* w, const uint8_t* a, int64_t nb) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), b4 = _mm256_set1_epi8(16);
  __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
  alignas(32) int32_t sc[8];
  for (int64_t i = 0; i < nb; ++i, w += 176, a += kQ8_KBytes) {
    prefetch_ahead<176>(w);
    __m256 d, dmin;
    block_scales(w, load_f32(a), d, dmin);
    const __m128i sm = k4_scale_min_bytes(w + 4);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));
    macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(mins, load256(a + 260))), dmin, macc);
    store_scale_pairs(sm, sc);
    __m256i qh = load256(w + 16);
    __m256i s[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load256(w + 48 + 32 * c);
      // Bit 2c of qh[l] is the fifth bit of the low nibble's element, bit 2c+1 of the high one's.
      const __m256i h0 = _mm256_and_si256(_mm256_slli_epi16(qh, 4), b4);
      const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(qh, 3), b4);
      qh = _mm256_srli_epi16(qh, 2);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
      const int k = 2 * (c & 1);
      s[k] = mul_sum_us8(s[k], lo, a + 4 + 64 * c, bcast_scale(sc + 2 * c));
      s[k + 1] = mul_sum_us8(s[k + 1], hi, a + 36 + 64 * c, bcast_scale(sc + 2 * c + 1));
    }
    const __m256i t = _mm256_add_epi32(_mm256_add_epi32(s[0], s[1]), _mm256_add_epi32(s[2], s[3]));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), d, acc);
  }
  return _mm256_sub_ps(acc, macc);
}

// Per-16 scales (16 int16 in sc16) of half-block h (chunks 4h..4h+3) in both 128-bit halves of a vector:
// chunk k's scale vector is then i16_pick(2k', 2k'+1) of it (k' = k - 4h).
inline __m256i half_scales(__m256i sc16, int h) {
  return _mm256_broadcastsi128_si256(h == 0 ? _mm256_castsi256_si128(sc16) : _mm256_extracti128_si256(sc16, 1));
}

inline __m256 rowacc_q6_k(const uint8_t* w, const uint8_t* a, int64_t nb) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i, w += 210, a += kQ8_KBytes) {
    prefetch_ahead<210>(w);
    const __m256 d = _mm256_set1_ps(fp16(w + 208) * load_f32(a));
    const __m256i sc16 = _mm256_cvtepi8_epi16(load128(w + 192));
    // Offset 32 of every level: 32 * sum_g sc_g * bsum_g, taken out once per block.
    const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load256(a + 260)), 5);
    __m256i s0 = _mm256_sub_epi32(_mm256_setzero_si256(), off), s1 = _mm256_setzero_si256(), s2 = s1, s3 = s1;
    for (int h = 0; h < 2; ++h) {
      const __m256i sc = half_scales(sc16, h);
      const __m256i qa = load256(w + 64 * h), qb = load256(w + 64 * h + 32), qh = load256(w + 128 + 32 * h);
      const __m256i u0 = _mm256_or_si256(_mm256_and_si256(qa, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
      const __m256i u1 = _mm256_or_si256(_mm256_and_si256(qb, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
      const __m256i u2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qa, 4), m4), _mm256_and_si256(qh, m2));
      const __m256i u3 =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qb, 4), m4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
      const uint8_t* ah = a + 4 + 128 * h;
      s0 = mul_sum_us8(s0, u0, ah, _mm256_shuffle_epi8(sc, i16_pick(0, 1)));
      s1 = mul_sum_us8(s1, u1, ah + 32, _mm256_shuffle_epi8(sc, i16_pick(2, 3)));
      s2 = mul_sum_us8(s2, u2, ah + 64, _mm256_shuffle_epi8(sc, i16_pick(4, 5)));
      s3 = mul_sum_us8(s3, u3, ah + 96, _mm256_shuffle_epi8(sc, i16_pick(6, 7)));
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3))), d, acc);
  }
  return acc;
}

inline __m256 rowacc_q2_k(const uint8_t* w, const uint8_t* a, int64_t nb) {
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i, w += 84, a += kQ8_KBytes) {
    prefetch_ahead<84>(w);
    __m256 d, dmin;
    block_scales(w + 80, load_f32(a), d, dmin);
    const __m128i s = load128(w);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(15)));
    macc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(mins, load256(a + 260))), dmin, macc);
    const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(s, _mm_set1_epi8(15)));
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (int h = 0; h < 2; ++h) {
      const __m256i sc = half_scales(sc16, h);
      const __m256i q = load256(w + 16 + 32 * h);
      const uint8_t* ah = a + 4 + 128 * h;
      s0 = mul_sum_us8(s0, _mm256_and_si256(q, m3), ah, _mm256_shuffle_epi8(sc, i16_pick(0, 1)));
      s1 = mul_sum_us8(s1, _mm256_and_si256(_mm256_srli_epi16(q, 2), m3), ah + 32,
                                            _mm256_shuffle_epi8(sc, i16_pick(2, 3)));
      s2 = mul_sum_us8(s2, _mm256_and_si256(_mm256_srli_epi16(q, 4), m3), ah + 64,
                                            _mm256_shuffle_epi8(sc, i16_pick(4, 5)));
      s3 = mul_sum_us8(s3, _mm256_and_si256(_mm256_srli_epi16(q, 6), m3), ah + 96,
                                            _mm256_shuffle_epi8(sc, i16_pick(6, 7)));
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3))), d, acc);
  }
  return _mm256_sub_ps(acc, macc);
}

// Q3_K's 16 six-bit scales (minus 32) as int16, in vector ops: low nibbles in bytes 0..7, two high bits
// per scale in bytes 8..11 (FORMATS 2.6).
inline __m256i q3_k_scales_i16(const uint8_t* S) {
  // 16 bytes ending where the 12-byte field ends (a block is 110 bytes: reading past S + 12 could leave
  // the tensor), shifted down by 4.
  const __m128i x = _mm_srli_si128(load128(S - 4), 4);
  const __m128i m4 = _mm_set1_epi8(0x0f), m2 = _mm_set1_epi8(0x03);
  const __m128i lo = _mm_and_si128(x, m4), hi = _mm_and_si128(_mm_srli_epi32(x, 4), m4);
  const __m128i t = _mm_shuffle_epi32(x, 0xAA);  // aux[2] in every lane
  // Lane j of the scale words takes bits 2j..2j+1 of each byte of aux[2].
  const __m128i top = _mm_slli_epi32(_mm_and_si128(_mm_srlv_epi32(t, _mm_setr_epi32(0, 2, 4, 6)), m2), 4);
  const __m128i low = _mm_unpacklo_epi64(lo, hi);  // [aux0&f, aux1&f, aux0>>4, aux1>>4]
  return _mm256_cvtepi8_epi16(_mm_sub_epi8(_mm_or_si128(low, top), _mm_set1_epi8(32)));
}

inline __m256 rowacc_q3_k(const uint8_t* w, const uint8_t* a, int64_t nb) {
  const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i, w += 110, a += kQ8_KBytes) {
    prefetch_ahead<110>(w);
    const __m256 d = _mm256_set1_ps(fp16(w + 108) * load_f32(a));
    const __m256i sc16 = q3_k_scales_i16(w + 96);
    // Level = u - 4 with u = q2 + 4 * hbit: take 4 * sum_g sc_g * bsum_g out once per block.
    const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load256(a + 260)), 2);
    __m256i s0 = _mm256_sub_epi32(_mm256_setzero_si256(), off), s1 = _mm256_setzero_si256(), s2 = s1, s3 = s1;
    __m256i hm = load256(w);
    for (int h = 0; h < 2; ++h) {
      const __m256i sc = half_scales(sc16, h);
      const __m256i q = load256(w + 32 + 32 * h);
      const uint8_t* ah = a + 4 + 128 * h;
      // hm holds bit (4h + j) of each byte moved down to bit j' = 0 as j advances; 4 * that bit via and/shift.
      const __m256i u0 = _mm256_add_epi8(_mm256_and_si256(q, m3), _mm256_and_si256(_mm256_slli_epi16(hm, 2), four));
      const __m256i u1 = _mm256_add_epi8(_mm256_and_si256(_mm256_srli_epi16(q, 2), m3),
                                         _mm256_and_si256(_mm256_slli_epi16(hm, 1), four));
      const __m256i u2 = _mm256_add_epi8(_mm256_and_si256(_mm256_srli_epi16(q, 4), m3), _mm256_and_si256(hm, four));
      const __m256i u3 = _mm256_add_epi8(_mm256_and_si256(_mm256_srli_epi16(q, 6), m3),
                                         _mm256_and_si256(_mm256_srli_epi16(hm, 1), four));
      hm = _mm256_srli_epi16(hm, 4);
      s0 = mul_sum_us8(s0, u0, ah, _mm256_shuffle_epi8(sc, i16_pick(0, 1)));
      s1 = mul_sum_us8(s1, u1, ah + 32, _mm256_shuffle_epi8(sc, i16_pick(2, 3)));
      s2 = mul_sum_us8(s2, u2, ah + 64, _mm256_shuffle_epi8(sc, i16_pick(4, 5)));
      s3 = mul_sum_us8(s3, u3, ah + 96, _mm256_shuffle_epi8(sc, i16_pick(6, 7)));
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3))), d, acc);
  }
  return acc;
}

// Horizontal sums of four vectors: {hsum(a), hsum(b), hsum(c), hsum(d)}.
inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
  const __m256 abcd = _mm256_hadd_ps(ab, cd);  // per 128-bit half: a b c d partial sums
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}
