// Rows-in-lanes kernels. (1) The prefill (matrix x matrix) path of mat_tile for the K-quants: a panel GEMM.
// (2) mat_tile_i16 for rows stored interleaved (quant/interleave.h): the same slabs loaded from tiles, and
// per-type group_dot decode kernels ("Decode of interleaved rows" below; the 32-element types' GemmLegacy
// serves every token count). (2) is routed at AVX-512 VNNI only, so its few raw _mm512 intrinsics are never
// instantiated at AVX2. Included by kernels_avx2.cpp and kernels_avx512.cpp inside their anonymous namespace,
// after x86_kernels.inl and after each defines `struct GemmOps` (vector width and int8 dot primitive of the
// level), for the same ODR reason as x86_kernels.inl. No #includes here.
//
// Layout. A "slab" is GemmOps::kRows weight rows (8 at AVX2, 16 at AVX-512) x one 256-element super-block,
// decoded once into:
//   q[64]   unsigned int8 levels, "row-interleaved": vector Q holds, for each row r, the 4 levels of
//           elements 4Q..4Q+3 in int32 lane r. One VPDPBUSD against a broadcast of the token's 4 matching
//           activation bytes adds those 4 products to every row's lane: lanes are rows, not k.
//   fs[j]   per row and scale sub-block j (32 or 16 elements): the float scale d * sc_j (Q2_K: just d, one
//           per super-block, its 4-bit scales folded into the stored levels).
//   mc, md  types with mins (Q2_K/Q4_K/Q5_K): the row's integer mins as int16 pairs matching the Q8_K
//           bsums' layout, and dmin.
// Transposing rows into lanes is done on the raw block bytes (32-bit granules: 4 consecutive bytes of a
// GGUF block always hold 4 consecutive elements' bits), so the nibble/bit extraction then works on full
// vectors of 16 rows at once.
//
// Per token and sub-block j: iacc (int32 per row) = sum of q x a exactly as the reference's integer sum
// (signed types start from -offset * bsum_g: levels are stored as u = level + offset, Q3_K +4, Q6_K +32,
// IQ4_XS +128), then facc += float(iacc) * fs[j]; per super-block: facc -= dmin * float(mins . bsums),
// out += facc * d_activation. So integer sums equal the reference's; only float summation order differs.
//
// A panel of kPanels slabs (32 rows at AVX-512) x kChunk super-blocks is decoded into a thread-local buffer
// and stays in L1 while every token passes over it, kCols tokens at a time (each weight vector load feeds
// kCols dot products, each activation broadcast feeds kPanels). Decode cost is paid once per panel and
// amortised over all tokens; nc below GemmOps::kMinCols keeps the per-row dot<NC> path (decode: nc == 1).
//
// Without VNNI (AVX2 level) the quad dot is maddubs, summed in int16 over a "run" of quads as long as
// run * 2 * umax * 127 <= 32767 (so no int16 overflow or saturation), then madd with ones into int32.
// IQ4_XS (u up to 241) would saturate maddubs, so it needs VNNI.

namespace gemm {

using strata::quant::load_f32;
using strata::quant::load_i16;
using strata::quant::load_u16;
using strata::quant::load_u32;

template <class O, int kNS, bool kMins>
struct alignas(64) Slab {
  typename O::VI q[64];
  typename O::VF fs[kNS];
  typename O::VI mc[kMins ? 8 : 1];
  typename O::VF md;
};

// Row-interleave helpers shared by the decoders.
template <class O>
inline typename O::VI lo_nib(typename O::VI x) {
  return O::and_(x, O::set1_8(0x0F));
}
template <class O>
inline typename O::VI hi_nib(typename O::VI x) {
  return O::and_(O::template srli16<4>(x), O::set1_8(0x0F));
}
// Byte b of each int32 lane, zero-extended.
template <class O, int B>
inline typename O::VI byte_u(typename O::VI x) {
  if constexpr (B == 3) return O::template srli32<24>(x);
  else return O::and_(O::template srli32<8 * B>(x), O::set1(0xFF));
}
// Byte b of each int32 lane, sign-extended.
template <class O, int B>
inline typename O::VI byte_s(typename O::VI x) {
  return O::template srai32<24>(O::template slli32<24 - 8 * B>(x));
}
// (m, m) as an int16 pair.
template <class O>
inline typename O::VI dup16(typename O::VI m) {
  return O::or_(m, O::template slli32<16>(m));
}

template <int... I, class F>
inline void unroll_impl(std::integer_sequence<int, I...>, F&& f) {
  (f(std::integral_constant<int, I>{}), ...);
}
// f(std::integral_constant<int, i>) for i < N, so shift counts and indices are compile-time constants.
template <int N, class F>
inline void unroll(F&& f) {
  unroll_impl(std::make_integer_sequence<int, N>{}, f);
}

// Where a slab's rows come from. The decoders ask for 32 (t32) or 16 (t16) bytes at a block offset `off`
// (a multiple of 4) of every row of the slab, as int32 lanes per row; and for the fp16 d of blocks of
// kBytes = 4k + 2 bytes (Q3_K, Q6_K), their last 2 bytes, through d16<O, kBytes>.
// Plain GGUF rows, row i at b + i * st: transposed in registers (GemmOps::trans32 / trans16).
struct RowSource {
  const uint8_t* b;
  size_t st;
  template <class O>
  [[gnu::always_inline]] void t32(int off, typename O::VI* x) const { O::trans32(b + off, st, x); }
  template <class O>
  [[gnu::always_inline]] void t16(int off, typename O::VI* x) const { O::trans16(b + off, st, x); }
  // The 16 bytes ending with d, transposed: d is the upper half of the last lane word.
  template <class O, int kBytes>
  [[gnu::always_inline]] typename O::VF d16() const {
    typename O::VI t[4];
    O::trans16(b + kBytes - 16, st, t);
    return O::cvtph_lo(O::template srli32<16>(t[3]));
  }
};
// Interleaved rows (quant/interleave.h): granule k of the group's 16 rows is the 64-byte line k of the
// super-block's tile, so each lane vector is one load (AVX-512, where a slab is one group). A block's
// trailing 2 bytes (d of Q3_K/Q6_K) are the 32-byte half line closing the tile: 16 fp16, one load.
struct TileSource {
  const uint8_t* tile;
  template <class O>
  [[gnu::always_inline]] void t32(int off, typename O::VI* x) const {
    for (int q = 0; q < 8; ++q) x[q] = O::loadu(tile + 16 * off + 64 * q);
  }
  template <class O>
  [[gnu::always_inline]] void t16(int off, typename O::VI* x) const {
    for (int q = 0; q < 4; ++q) x[q] = O::loadu(tile + 16 * off + 64 * q);
  }
  template <class O, int kBytes>
  [[gnu::always_inline]] typename O::VF d16() const {
    static_assert(kBytes % 4 == 2 && O::kRows == 16, "the half line of a 16-row tile");
    return half_line_f16<O>(tile + 64 * (kBytes / 4));
  }
  // 16 fp16 at p (32 bytes: no load past the tile, which may end the matrix) as 16 float lanes.
  template <class O>
  [[gnu::always_inline]] static typename O::VF half_line_f16(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
};

// Bitwise select, m ? a : b per bit (one VPTERNLOGD; AVX-512 only, for the group_dot kernels). b is the
// operand the instruction overwrites: pass a temporary there, m (a constant) is kept.
template <class O>
[[gnu::always_inline]] inline typename O::VI bitsel(typename O::VI m, typename O::VI a, typename O::VI b) {
  return _mm512_ternarylogic_epi32(b, a, m, 0xD8);
}
// Bytewise a - b (AVX-512 only, as bitsel).
template <class O>
[[gnu::always_inline]] inline typename O::VI sub8(typename O::VI a, typename O::VI b) {
  return _mm512_sub_epi8(a, b);
}
// v shifted by S bits (left for S > 0, right for S < 0) in 16-bit words.
template <class O, int S>
[[gnu::always_inline]] inline typename O::VI shift16(typename O::VI v) {
  if constexpr (S > 0) return O::template slli16<(S > 0 ? S : 0)>(v);
  else if constexpr (S < 0) return O::template srli16<(S < 0 ? -S : 0)>(v);
  else return v;
}

// A VPSHUFB control, the same in every 128-bit lane: byte b0 of each int32 lane to the lane's byte 0 and
// (b1 >= 0) byte b1 to its byte 2, every other byte zeroed.
struct alignas(64) ByteCtl {
  uint8_t b[64];
};
constexpr ByteCtl byte_ctl(int b0, int b1) {
  ByteCtl c{};
  for (int i = 0; i < 64; ++i) {
    const int dword = i % 16 / 4, pos = i % 4;
    c.b[i] = pos == 0                ? static_cast<uint8_t>(4 * dword + b0)
             : pos == 2 && b1 >= 0 ? static_cast<uint8_t>(4 * dword + b1)
                                   : uint8_t{0x80};
  }
  return c;
}
// A VPSHUFB control moving byte b of each int32 lane to the lane's byte `to` (zeroing the rest). to == 3:
// the lane is the byte as a signed int8 times 2^24 (exact in float); to == 1: the int16 pair (256 * int8, 0).
constexpr ByteCtl move_ctl(int b, int to) {
  ByteCtl c{};
  for (int i = 0; i < 64; ++i) c.b[i] = i % 4 == to ? static_cast<uint8_t>(i % 16 / 4 * 4 + b) : uint8_t{0x80};
  return c;
}
constexpr ByteCtl top_ctl(int b) { return move_ctl(b, 3); }


// The 6-bit scales and mins of Q4_K/Q5_K (12 bytes at block offset 4) and d/dmin (offset 0), for the rows
// of a slab: sc[j], m[j] for j < 8 as int32 lanes.
template <class O, class Src, class S>
[[gnu::always_inline]] inline void k4_scales_mins(const Src& src, S& s) {
  typename O::VI v[4];
  src.template t16<O>(0, v);  // v[0] = d | dmin << 16, v[1..3] = the 12 scale bytes
  const typename O::VF d = O::cvtph_lo(v[0]), dmin = O::cvtph_lo(O::template srli32<16>(v[0]));
  const auto m3f = O::set1_8(0x3F), m0f = O::set1_8(0x0F), m03 = O::set1_8(0x03);
  const auto sc_lo = O::and_(v[1], m3f), m_lo = O::and_(v[2], m3f);
  const auto sc_hi = O::or_(O::and_(v[3], m0f), O::template slli32<4>(O::and_(O::template srli32<6>(v[1]), m03)));
  const auto m_hi = O::or_(O::and_(O::template srli32<4>(v[3]), m0f),
                           O::template slli32<4>(O::and_(O::template srli32<6>(v[2]), m03)));
  unroll<4>([&](auto b) {
    constexpr int B = decltype(b)::value;
    s.fs[B] = O::mulf(O::cvt(byte_u<O, B>(sc_lo)), d);
    s.fs[4 + B] = O::mulf(O::cvt(byte_u<O, B>(sc_hi)), d);
    s.mc[B] = dup16<O>(byte_u<O, B>(m_lo));
    s.mc[4 + B] = dup16<O>(byte_u<O, B>(m_hi));
  });
  s.md = dmin;
}

// Scales of one super-block for 16 rows held in registers (the Slab fields k4_scales_mins fills), for the
// decode kernels that dot interleaved tiles without storing a slab.
template <class O>
struct K4Scales {
  typename O::VF fs[8];
  typename O::VI mc[8];
  typename O::VF md;
};

// ---------------------------------------------------------------------------------------------------------
// Per-type slab decoders. kSubQuads: quads (4 elements) per scale sub-block; kOff: offset added to the
// signed levels (0: levels are unsigned, with or without mins); kUmax: largest stored level.

struct GemmQ4_K {
  static constexpr int kBytes = 144, kSubQuads = 8, kOff = 0, kUmax = 15;
  static constexpr bool kMins = true, kNeedsVnni = false;
  // Decode (one token) of one interleaved 16-row group, in registers; see "Decode of interleaved rows".
  template <class O>
  static typename O::VF group_dot(const uint8_t* g, int64_t nb, const uint8_t* a) {
    using VI = typename O::VI;
    using VF = typename O::VF;
    constexpr int kTile = 16 * kBytes;
    const VI m4 = O::set1_8(0x0F), mf0 = O::set1_8(0xF0);
    const VF sixteenth = O::setf(1.f / 16);  // exact: high-nibble sums are 16x the level sums
    VF out = O::zerof();
    for (int64_t b = 0; b < nb; ++b, g += kTile, a += kQ8_KBytes) {
      prefetch_ahead<kTile>(g);
      K4Scales<O> s;
      k4_scales_mins<O>(TileSource{g}, s);
      VF facc = O::zerof();
      unroll<4>([&](auto c) {
        constexpr int C = decltype(c)::value;
        VI lo = O::zero(), hi = O::zero();
        for (int q = 0; q < 8; ++q) {
          const VI x = O::loadu(g + 16 * (16 + 32 * C) + 64 * q);  // granule q of block bytes 16 + 32C..
          lo = O::dot(lo, O::and_(x, m4), O::bcast(a + 4 + 64 * C + 4 * q));
          hi = O::dot(hi, O::and_(x, mf0), O::bcast(a + 36 + 64 * C + 4 * q));
        }
        facc = O::fma(O::cvt(lo), s.fs[2 * C], facc);
        facc = O::fma(O::cvt(hi), O::mulf(s.fs[2 * C + 1], sixteenth), facc);
      });
      VI macc = O::zero();
      for (int i = 0; i < 8; ++i) macc = O::wdot(macc, s.mc[i], O::bcast(a + 260 + 4 * i));
      facc = O::fnma(O::cvt(macc), s.md, facc);
      out = O::fma(facc, O::setf(load_f32(a)), out);
    }
    return out;
  }
  template <class O, class Src, class S>
  [[gnu::always_inline]] static void decode(const Src& src, S& s) {
    k4_scales_mins<O>(src, s);
    unroll<4>([&](auto c) {
      constexpr int C = decltype(c)::value;
      typename O::VI x[8];
      src.template t32<O>(16 + 32 * C, x);
      for (int q = 0; q < 8; ++q) {
        s.q[(2 * C) * 8 + q] = lo_nib<O>(x[q]);
        s.q[(2 * C + 1) * 8 + q] = hi_nib<O>(x[q]);
      }
    });
  }
};

struct GemmQ5_K {
  static constexpr int kBytes = 176, kSubQuads = 8, kOff = 0, kUmax = 31;
  static constexpr bool kMins = true, kNeedsVnni = false;
  // Decode (one token) of one interleaved 16-row group, in registers; see "Decode of interleaved rows".
  // Tile lines: 0..3 d, dmin and scales (as Q4_K), 4..11 qh, 12..43 qs. Granule q of qh holds the fifth bits
  // of qs granule q of every 32-byte chunk C (bit 2C: low nibble, 2C + 1: high nibble). The low level is
  // (x & 0x0F) | fifth bit at bit 4; the high one is built as 8 times the level, ((x >> 1) & 0x78) | fifth
  // bit at bit 7 (up to 248, fits the unsigned byte; the 1/8 is exact in the float scale). The qh granule
  // is shifted once per bit position needed and serves all four chunks.
  template <class O>
  static typename O::VF group_dot(const uint8_t* g, int64_t nb, const uint8_t* a) {
    using VI = typename O::VI;
    using VF = typename O::VF;
    constexpr int kTile = 16 * kBytes;
    const VI m0f = O::set1_8(0x0F), m78 = O::set1_8(0x78), b4 = O::set1_8(0x10), b7 = O::set1_8(0x80);
    const VF eighth = O::setf(1.f / 8);
    VF out = O::zerof();
    for (int64_t b = 0; b < nb; ++b, g += kTile, a += kQ8_KBytes) {
      prefetch_ahead<kTile>(g);
      K4Scales<O> s;
      k4_scales_mins<O>(TileSource{g}, s);
      VI lo[4], hi[4];
      for (int c = 0; c < 4; ++c) lo[c] = hi[c] = O::zero();
      for (int q = 0; q < 8; ++q) {
        const VI h = O::loadu(g + 64 * (4 + q));
        // hs[k] = h << (6 - 2k) (k < 3), h (k == 3), h >> 2 (k == 4), 16-bit shifts: bit 4 of hs[C + 1] is
        // bit 2C of each byte, bit 7 of hs[C] is bit 2C + 1.
        const VI hs[5] = {O::template slli16<6>(h), O::template slli16<4>(h), O::template slli16<2>(h), h,
                          O::template srli16<2>(h)};
        unroll<4>([&](auto c) {
          constexpr int C = decltype(c)::value;
          const VI x = O::loadu(g + 64 * (12 + 8 * C + q));  // granule q of block bytes 48 + 32C..
          const VI ul = O::or_(O::and_(x, m0f), O::and_(hs[C + 1], b4));
          const VI uh = O::or_(O::and_(O::template srli16<1>(x), m78), O::and_(hs[C], b7));
          lo[C] = O::dot(lo[C], ul, O::bcast(a + 4 + 64 * C + 4 * q));
          hi[C] = O::dot(hi[C], uh, O::bcast(a + 36 + 64 * C + 4 * q));
        });
      }
      VF facc = O::zerof();
      for (int c = 0; c < 4; ++c) {
        facc = O::fma(O::cvt(lo[c]), s.fs[2 * c], facc);
        facc = O::fma(O::cvt(hi[c]), O::mulf(s.fs[2 * c + 1], eighth), facc);
      }
      VI macc = O::zero();
      for (int i = 0; i < 8; ++i) macc = O::wdot(macc, s.mc[i], O::bcast(a + 260 + 4 * i));
      facc = O::fnma(O::cvt(macc), s.md, facc);
      out = O::fma(facc, O::setf(load_f32(a)), out);
    }
    return out;
  }
  template <class O, class Src, class S>
  [[gnu::always_inline]] static void decode(const Src& src, S& s) {
    k4_scales_mins<O>(src, s);
    typename O::VI h[8];
    src.template t32<O>(16, h);
    const auto b4 = O::set1_8(0x10);
    unroll<4>([&](auto c) {
      constexpr int C = decltype(c)::value;
      typename O::VI x[8];
      src.template t32<O>(48 + 32 * C, x);
      for (int q = 0; q < 8; ++q) {
        // Bit 2C (low nibbles) / 2C + 1 (high nibbles) of qh moved to bit 4 (16-bit shifts keep each
        // byte's bits inside the byte at the position read).
        auto h0 = 2 * C <= 4 ? O::template slli16<(4 - 2 * C > 0 ? 4 - 2 * C : 0)>(h[q])
                             : O::template srli16<(2 * C - 4 > 0 ? 2 * C - 4 : 0)>(h[q]);
        auto h1 = 2 * C + 1 <= 4 ? O::template slli16<(3 - 2 * C > 0 ? 3 - 2 * C : 0)>(h[q])
                                 : O::template srli16<(2 * C - 3 > 0 ? 2 * C - 3 : 0)>(h[q]);
        s.q[(2 * C) * 8 + q] = O::or_(lo_nib<O>(x[q]), O::and_(h0, b4));
        s.q[(2 * C + 1) * 8 + q] = O::or_(hi_nib<O>(x[q]), O::and_(h1, b4));
      }
    });
  }
};

struct GemmQ6_K {
  static constexpr int kBytes = 210, kSubQuads = 4, kOff = 32, kUmax = 63;
  static constexpr bool kMins = false, kNeedsVnni = false;
  static constexpr ByteCtl kTop[4] = {top_ctl(0), top_ctl(1), top_ctl(2), top_ctl(3)};
  // Decode (one token) of one interleaved 16-row group, in registers; see "Decode of interleaved rows".
  // Tile lines: 0..31 ql, 32..47 qh, 48..51 scales (int8, 4 per lane), then the half line of d. For half H
  // and granule q (elements 128H + 32p + 4q.., p = 0..3), ql lines 16H + q (qa) and 16H + 8 + q (qb) and qh
  // line 32 + 8H + q give the four unsigned levels u = level + 32 (0..63): 4 bits from a nibble, 2 from qh
  // bits 2p, 2p + 1. qh is split once into A = qh & 0x33 and B = qh & 0xCC; each level is then one bit
  // select (VPTERNLOGD) of a nibble source and an h source whose other bits are zero, with one 16-bit shift:
  //   p = 0: qa bits 0-3 | (A << 4) bits 4-5            p = 2: (qa >> 4) bits 0-3 | A bits 4-5
  //   p = 1: qb bits 0-3 | (B << 2) bits 4-5            p = 3: (qb >> 2) bits 2-5 | B bits 6-7 (= 4u)
  // (p = 3 keeps the level times 4, up to 252: VPDPBUSD takes unsigned bytes). Each 16-element group G's
  // int32 sum starts at -32 * bsum_G (times 4 for p = 3), so it is the reference's sum of level * a (times
  // 4). It reaches 16 * 63 * 128 (no int16 VPDPWSSD), so it is scaled in float: fma(cvt(sum), sc * 2^24,
  // facc), the scale picked by VPSHUFB into the lane's top byte; the product rounds once in the FMA; 2^-24
  // (and 1/4) are exact. d once per block.
  template <class O>
  static typename O::VF group_dot(const uint8_t* g, int64_t nb, const uint8_t* a) {
    using VI = typename O::VI;
    using VF = typename O::VF;
    static_assert(O::kRows == 16, "one 16-row group per vector");
    constexpr int kTile = 16 * kBytes;
    const VI m0f = O::set1_8(0x0F), m3c = O::set1_8(0x3C), m33 = O::set1_8(0x33), mcc = O::set1_8(0xCC);
    const VF quarter = O::setf(0.25f), unscale = O::setf(1.f / (1 << 24));
    VF out = O::zerof();
    for (int64_t b = 0; b < nb; ++b, g += kTile, a += kQ8_KBytes) {
      prefetch_ahead<kTile>(g);
      VF facc = O::zerof();
      unroll<2>([&](auto hh) {
        constexpr int H = decltype(hh)::value;
        unroll<2>([&](auto jj) {
          constexpr int J = decltype(jj)::value;  // granules 4J..4J+3: groups 8H + 2p + J
          VI acc[4];
          unroll<4>([&](auto pp) {
            constexpr int P = decltype(pp)::value;
            acc[P] = O::set1((P == 3 ? -128 : -32) * load_i16(a + 260 + 2 * (8 * H + 2 * P + J)));
          });
          for (int q = 4 * J; q < 4 * J + 4; ++q) {
            const VI qa = O::loadu(g + 64 * (16 * H + q)), qb = O::loadu(g + 64 * (16 * H + 8 + q));
            const VI h = O::loadu(g + 64 * (32 + 8 * H + q));
            const VI ha = O::and_(h, m33), hb = O::and_(h, mcc);
            const uint8_t* ap = a + 4 + 128 * H + 4 * q;
            acc[0] = O::dot(acc[0], bitsel<O>(m0f, qa, O::template slli16<4>(ha)), O::bcast(ap));
            acc[1] = O::dot(acc[1], bitsel<O>(m0f, qb, O::template slli16<2>(hb)), O::bcast(ap + 32));
            acc[2] = O::dot(acc[2], bitsel<O>(m0f, O::template srli16<4>(qa), ha), O::bcast(ap + 64));
            acc[3] = O::dot(acc[3], bitsel<O>(m3c, O::template srli16<2>(qb), hb), O::bcast(ap + 96));
          }
          unroll<4>([&](auto pp) {
            constexpr int P = decltype(pp)::value, G = 8 * H + 2 * P + J;
            VF sc = O::cvt(O::shuffle8(O::loadu(g + 64 * (48 + G / 4)), O::loadu(kTop[G % 4].b)));
            if constexpr (P == 3) sc = O::mulf(sc, quarter);
            facc = O::fma(O::cvt(acc[P]), sc, facc);
          });
        });
      });
      const VF d = TileSource{g}.template d16<O, kBytes>();
      out = O::fma(facc, O::mulf(O::mulf(d, unscale), O::setf(load_f32(a))), out);
    }
    return out;
  }
  template <class O, class Src, class S>
  [[gnu::always_inline]] static void decode(const Src& src, S& s) {
    const auto m30 = O::set1_8(0x30);
    unroll<2>([&](auto hh) {
      constexpr int H = decltype(hh)::value;
      typename O::VI qa[8], qb[8], qh[8];
      src.template t32<O>(64 * H, qa);
      src.template t32<O>(64 * H + 32, qb);
      src.template t32<O>(128 + 32 * H, qh);
      for (int q = 0; q < 8; ++q) {
        s.q[32 * H + q] = O::or_(lo_nib<O>(qa[q]), O::and_(O::template slli16<4>(qh[q]), m30));
        s.q[32 * H + 8 + q] = O::or_(lo_nib<O>(qb[q]), O::and_(O::template slli16<2>(qh[q]), m30));
        s.q[32 * H + 16 + q] = O::or_(hi_nib<O>(qa[q]), O::and_(qh[q], m30));
        s.q[32 * H + 24 + q] = O::or_(hi_nib<O>(qb[q]), O::and_(O::template srli16<2>(qh[q]), m30));
      }
    });
    typename O::VI v[4];
    src.template t16<O>(192, v);  // 16 int8 scales, 4 per lane
    const typename O::VF d = src.template d16<O, kBytes>();
    unroll<16>([&](auto g) {
      constexpr int G = decltype(g)::value;
      s.fs[G] = O::mulf(O::cvt(byte_s<O, G % 4>(v[G / 4])), d);
    });
  }
};

struct GemmQ3_K {
  static constexpr int kBytes = 110, kSubQuads = 4, kOff = 4, kUmax = 7;
  static constexpr bool kMins = false, kNeedsVnni = false;
  static constexpr ByteCtl kHi[4] = {move_ctl(0, 1), move_ctl(1, 1), move_ctl(2, 1), move_ctl(3, 1)};
  // Decode (one token) of one interleaved 16-row group, in registers; see "Decode of interleaved rows".
  // Tile lines: 0..7 hmask, 8..23 qs, 24..26 the 12 scale bytes, then the half line of d. Element
  // 128H + 32s + 4q + e (half H, shift s, granule q) has q2 = bits 2s, 2s + 1 of qs line 8 + 8H + q and its
  // high bit at bit 4H + s of hmask line q; u = q2 + 4 * hbit = level + 4 (0..7). Each level vector is one
  // bit select (VPTERNLOGD) of q2 where it lies (bits k = 2s, k + 1; s = 3 shifted down to k = 4) and the
  // hmask shifted so the bit lands at k + 2, masked alone: 2^k * u (up to 112), no shift for s < 3 on qs.
  // A 16-element group G = 8H + 2s + q / 4 sums from -4 * 2^k * bsum_G, so after an exact shift by k it is
  // the reference's sum of level * a, at most 16 * 4 * 128 = 8192 in magnitude: one VPDPWSSD against the
  // int16 pair (256 * (sc - 32), 0) adds 256 * its scaled sum (< 2^30) exactly. isum / 256 is the
  // reference's integer sum; d / 256 once per block.
  template <class O>
  static typename O::VF group_dot(const uint8_t* g, int64_t nb, const uint8_t* a) {
    using VI = typename O::VI;
    using VF = typename O::VF;
    static_assert(O::kRows == 16, "one 16-row group per vector");
    constexpr int kTile = 16 * kBytes;
    const VI m0f = O::set1_8(0x0F), m03 = O::set1_8(0x03), m0c = O::set1_8(0x0C), m30 = O::set1_8(0x30),
             mc0 = O::set1_8(0xC0), m32 = O::set1_8(32);
    const VF unscale = O::setf(1.f / 256);
    VF out = O::zerof();
    for (int64_t b = 0; b < nb; ++b, g += kTile, a += kQ8_KBytes) {
      prefetch_ahead<kTile>(g);
      // The 16 6-bit scales minus 32, as signed bytes: sw[k] byte B = scale 4k + B (as GemmQ3_K::decode).
      const VI v1 = O::loadu(g + 64 * 24), v2 = O::loadu(g + 64 * 25), v3 = O::loadu(g + 64 * 26);
      const VI sw[4] = {
          sub8<O>(bitsel<O>(m0f, v1, O::template slli16<4>(O::and_(v3, m03))), m32),
          sub8<O>(bitsel<O>(m0f, v2, O::template slli16<2>(O::and_(v3, m0c))), m32),
          sub8<O>(bitsel<O>(m0f, O::template srli16<4>(v1), O::and_(v3, m30)), m32),
          sub8<O>(bitsel<O>(m0f, O::template srli16<4>(v2), O::template srli16<2>(O::and_(v3, mc0))), m32)};
      VI isum = O::zero();
      unroll<2>([&](auto hh) {
        constexpr int H = decltype(hh)::value;
        unroll<2>([&](auto jj) {
          constexpr int J = decltype(jj)::value;  // granules 4J..4J+3: groups 8H + 2s + J
          VI acc[4];
          unroll<4>([&](auto ss) {
            constexpr int S = decltype(ss)::value, K = S == 3 ? 4 : 2 * S;
            acc[S] = O::set1(-(4 << K) * load_i16(a + 260 + 2 * (8 * H + 2 * S + J)));
          });
          for (int q = 4 * J; q < 4 * J + 4; ++q) {
            const VI hm = O::loadu(g + 64 * q), x = O::loadu(g + 64 * (8 + 8 * H + q));
            unroll<4>([&](auto ss) {
              constexpr int S = decltype(ss)::value, K = S == 3 ? 4 : 2 * S;
              const VI xs = S == 3 ? O::template srli16<2>(x) : x;
              const VI hs = O::and_(shift16<O, K + 2 - (4 * H + S)>(hm), O::set1_8(4 << K));
              const VI u = bitsel<O>(O::set1_8(3 << K), xs, hs);
              acc[S] = O::dot(acc[S], u, O::bcast(a + 4 + 128 * H + 32 * S + 4 * q));
            });
          }
          unroll<4>([&](auto ss) {
            constexpr int S = decltype(ss)::value, K = S == 3 ? 4 : 2 * S, G = 8 * H + 2 * S + J;
            const VI sum = K ? O::template srai32<(K ? K : 1)>(acc[S]) : acc[S];
            isum = O::wdot(isum, sum, O::shuffle8(sw[G / 4], O::loadu(kHi[G % 4].b)));
          });
        });
      });
      const VF d = TileSource{g}.template d16<O, kBytes>();
      out = O::fma(O::cvt(isum), O::mulf(O::mulf(d, unscale), O::setf(load_f32(a))), out);
    }
    return out;
  }
  template <class O, class Src, class S>
  [[gnu::always_inline]] static void decode(const Src& src, S& s) {
    typename O::VI hm[8];
    src.template t32<O>(0, hm);
    const auto m3 = O::set1_8(3), b2 = O::set1_8(4);
    unroll<2>([&](auto hh) {
      constexpr int H = decltype(hh)::value;
      typename O::VI x[8];
      src.template t32<O>(32 + 32 * H, x);
      unroll<4>([&](auto ss) {
        constexpr int Sx = decltype(ss)::value, idx = 4 * H + Sx;
        for (int q = 0; q < 8; ++q) {
          // u = q2 + 4 * (high bit idx): the level plus 4.
          const auto q2 = O::and_(O::template srli16<2 * Sx>(x[q]), m3);
          const auto hb = idx >= 2 ? O::template srli16<(idx >= 2 ? idx - 2 : 0)>(hm[q])
                                   : O::template slli16<(idx < 2 ? 2 - idx : 0)>(hm[q]);
          s.q[8 * idx + q] = O::or_(q2, O::and_(hb, b2));
        }
      });
    });
    // 12 scale bytes at 96, read as 16 bytes from 92 (inside the block), and d at 108 (the last 2 bytes).
    typename O::VI v[4];
    src.template t16<O>(92, v);  // v[1] = aux0, v[2] = aux1, v[3] = aux2
    const typename O::VF d = src.template d16<O, kBytes>();
    const auto m0f = O::set1_8(0x0F), m03 = O::set1_8(0x03);
    typename O::VI sw[4];
    sw[0] = O::or_(O::and_(v[1], m0f), O::template slli32<4>(O::and_(v[3], m03)));
    sw[1] = O::or_(O::and_(v[2], m0f), O::template slli32<4>(O::and_(O::template srli32<2>(v[3]), m03)));
    sw[2] = O::or_(O::and_(O::template srli32<4>(v[1]), m0f),
                   O::template slli32<4>(O::and_(O::template srli32<4>(v[3]), m03)));
    sw[3] = O::or_(O::and_(O::template srli32<4>(v[2]), m0f),
                   O::template slli32<4>(O::and_(O::template srli32<6>(v[3]), m03)));
    const auto m32 = O::set1(32);
    unroll<16>([&](auto g) {
      constexpr int G = decltype(g)::value;
      s.fs[G] = O::mulf(O::cvt(O::sub32(byte_u<O, G % 4>(sw[G / 4]), m32)), d);
    });
  }
};

// Q2_K: levels 0..3 with 4-bit scales per 16 elements. The slab decoder folds the scale into the stored
// level (q * sc <= 45 fits a byte), so the whole super-block is one integer sum, as in the reference
// (sum_g sc_g * sum q*a == sum (q*sc)*a); group_dot scales each group's sum instead (see there).
struct GemmQ2_K {
  static constexpr int kBytes = 84, kSubQuads = 64, kOff = 0, kUmax = 45;
  static constexpr bool kMins = true, kNeedsVnni = false;
  // VPSHUFB controls for group_dot: kPick[B] makes byte B of each int32 lane that lane's value (one scale
  // as the int16 pair (sc, 0)); kPair[P] makes bytes 2P, 2P + 1 an int16 pair (two mins, the bsums' layout).
  static constexpr ByteCtl kPick[4] = {byte_ctl(0, -1), byte_ctl(1, -1), byte_ctl(2, -1), byte_ctl(3, -1)};
  static constexpr ByteCtl kPair[2] = {byte_ctl(0, 1), byte_ctl(2, 3)};

  // Decode (one token) of one interleaved 16-row group, in registers; see "Decode of interleaved rows".
  // Tile lines (64 bytes, granule k of the 16 rows): 0..3 scales, 4..19 qs, 20 d | dmin << 16.
  // Per 16-element group G = 8h + 2s + p (half h, shift s, p: granules 4p..4p+3 of the half's 8), the
  // 4 granules' levels are taken in place as x & (3 << 2s), 4^s times the level (up to 192: VPDPBUSD sums
  // u8 x s8 exactly), so the group's dot is 4^s * sum(q * a). Shifted back for s >= 2 (exact: a multiple of
  // 16 or 64), it is at most 4 * 16 * 3 * 128 = 24576 and fits the low int16 of the lane (the high one
  // holds its sign), so one VPDPWSSD against (sc, 0) adds sc * it exactly. s == 1 groups keep the factor 4 in
  // their own accumulator, shifted out once per super-block. isum is then the reference's integer sum; the
  // mins are dotted with the bsums as 16 * min (x & 0xF0), shifted out likewise.
  template <class O>
  static typename O::VF group_dot(const uint8_t* g, int64_t nb, const uint8_t* a) {
    using VI = typename O::VI;
    using VF = typename O::VF;
    static_assert(O::kRows == 16, "one 16-row group per vector");
    constexpr int kTile = 16 * kBytes;
    const VI m0f = O::set1_8(0x0F), mf0 = O::set1_8(0xF0);
    VF out = O::zerof();
    for (int64_t b = 0; b < nb; ++b, g += kTile, a += kQ8_KBytes) {
      prefetch_ahead<kTile>(g);
      VI sc[4];  // scale lines, low nibbles
      VI macc = O::zero();
      for (int k = 0; k < 4; ++k) {
        const VI v = O::loadu(g + 64 * k);
        sc[k] = O::and_(v, m0f);
        const VI hi = O::and_(v, mf0);
        macc = O::wdot(macc, O::shuffle8(hi, O::loadu(kPair[0].b)), O::bcast(a + 260 + 8 * k));
        macc = O::wdot(macc, O::shuffle8(hi, O::loadu(kPair[1].b)), O::bcast(a + 264 + 8 * k));
      }
      VI isum[4] = {O::zero(), O::zero(), O::zero(), O::zero()};  // per shift s
      unroll<2>([&](auto hh) {
        constexpr int H = decltype(hh)::value;
        unroll<2>([&](auto pp) {
          constexpr int P = decltype(pp)::value;
          VI x[4];
          for (int q = 0; q < 4; ++q) x[q] = O::loadu(g + 64 * (4 + 8 * H + 4 * P + q));
          unroll<4>([&](auto ss) {
            constexpr int S = decltype(ss)::value, G = 8 * H + 2 * S + P;
            const VI m = O::set1_8(3 << (2 * S));
            VI acc = O::zero();
            for (int q = 0; q < 4; ++q)
              acc = O::dot(acc, O::and_(x[q], m), O::bcast(a + 4 + 128 * H + 32 * S + 16 * P + 4 * q));
            if constexpr (S >= 2) acc = O::template srai32<2 * S>(acc);
            isum[S] = O::wdot(isum[S], acc, O::shuffle8(sc[G / 4], O::loadu(kPick[G % 4].b)));
          });
        });
      });
      const VI i1 = O::add32(O::add32(isum[0], isum[2]), O::add32(isum[3], O::template srai32<2>(isum[1])));
      const VI dd = O::loadu(g + 64 * 20);
      const VF d = O::cvtph_lo(dd), dmin = O::cvtph_lo(O::template srli32<16>(dd));
      VF facc = O::mulf(O::cvt(i1), d);
      facc = O::fnma(O::cvt(O::template srai32<4>(macc)), dmin, facc);
      out = O::fma(facc, O::setf(load_f32(a)), out);
    }
    return out;
  }
  template <class O, class Src, class S>
  [[gnu::always_inline]] static void decode(const Src& src, S& s) {
    typename O::VI v[4], t[4];
    src.template t16<O>(0, v);   // 16 scale bytes: sc low nibble, min high nibble; 4 per lane
    src.template t16<O>(68, t);  // t[3] = d | dmin << 16
    s.fs[0] = O::cvtph_lo(t[3]);
    s.md = O::cvtph_lo(O::template srli32<16>(t[3]));
    const auto m0f = O::set1_8(0x0F), m3 = O::set1_8(3);
    typename O::VI sc16[16];
    unroll<16>([&](auto g) {
      constexpr int G = decltype(g)::value;
      sc16[G] = dup16<O>(byte_u<O, G % 4>(O::and_(v[G / 4], m0f)));
    });
    unroll<8>([&](auto i) {
      constexpr int I = decltype(i)::value;
      const auto mins = O::and_(O::template srli32<4>(v[I / 2]), m0f);
      // Groups 2I, 2I + 1 are bytes 2(I%2), 2(I%2)+1 of lane word I/2.
      s.mc[I] = O::or_(byte_u<O, 2 * (I % 2)>(mins), O::template slli32<16>(byte_u<O, 2 * (I % 2) + 1>(mins)));
    });
    unroll<2>([&](auto hh) {
      constexpr int H = decltype(hh)::value;
      typename O::VI x[8];
      src.template t32<O>(16 + 32 * H, x);
      unroll<4>([&](auto ss) {
        constexpr int Sx = decltype(ss)::value, idx = 4 * H + Sx;  // 32-element chunk idx = groups 2idx, 2idx+1
        for (int q = 0; q < 8; ++q) {
          const auto lv = O::and_(O::template srli16<2 * Sx>(x[q]), m3);
          s.q[8 * idx + q] = O::mullo16(lv, sc16[2 * idx + q / 4]);
        }
      });
    });
  }
};

struct GemmIQ4_XS {
  static constexpr int kBytes = 136, kSubQuads = 8, kOff = 128, kUmax = 241;
  static constexpr bool kMins = false, kNeedsVnni = true;
  // Decode (one token) of one interleaved 16-row group, in registers; see "Decode of interleaved rows".
  // Tile lines: 0 d | scales_h << 16, 1 scales_l, 2..33 qs. Sub-block I (32 elements) is qs bytes
  // 16I..16I+15, lines 2 + 4I + q (q < 4): low nibbles are elements 32I + 4q.., high nibbles 32I + 16 + 4q..
  // (the reference's qs[j] & 0x0F / qs[j] >> 4). Each nibble is looked up as u = value + 128 (0..241,
  // unsigned for VPDPBUSD) and the sub-block's sum starts at -128 * (its two bsums), so it is the
  // reference's s1 + s2 exactly. |s1 + s2| <= 32 * 127 * 128 exceeds int16 (no VPDPWSSD), but its product
  // with the 6-bit scale ls (|ls| <= 32) stays below 2^24, so cvt(sum) * cvt(ls) in the FMA is exact too;
  // d and the activation's d once per block.
  template <class O>
  static typename O::VF group_dot(const uint8_t* g, int64_t nb, const uint8_t* a) {
    using VI = typename O::VI;
    using VF = typename O::VF;
    static_assert(O::kRows == 16, "one 16-row group per vector");
    constexpr int kTile = 16 * kBytes;
    const VI m0f = O::set1_8(0x0F), m0f32 = O::set1(0x0F), m30 = O::set1(0x30), m32 = O::set1(32);
    const VI table = O::iq4_table_u8();
    VF out = O::zerof();
    for (int64_t b = 0; b < nb; ++b, g += kTile, a += kQ8_KBytes) {
      prefetch_ahead<kTile>(g);
      const VI v0 = O::loadu(g), v1 = O::loadu(g + 64);  // d | scales_h << 16; scales_l
      VF facc = O::zerof();
      unroll<8>([&](auto i) {
        constexpr int I = decltype(i)::value;
        VI lo = O::set1(-128 * load_i16(a + 260 + 4 * I)), hi = O::set1(-128 * load_i16(a + 262 + 4 * I));
        for (int q = 0; q < 4; ++q) {
          const VI x = O::loadu(g + 64 * (2 + 4 * I + q));
          lo = O::dot(lo, O::shuffle8(table, O::and_(x, m0f)), O::bcast(a + 4 + 32 * I + 4 * q));
          hi = O::dot(hi, O::shuffle8(table, O::and_(O::template srli16<4>(x), m0f)),
                      O::bcast(a + 20 + 32 * I + 4 * q));
        }
        // ls = (scales_l nibble I | scales_h bits 2I, 2I + 1 << 4) - 32, per row.
        const VI ls = O::sub32(
            bitsel<O>(m0f32, O::template srli32<4 * I>(v1), O::and_(O::template srli32<12 + 2 * I>(v0), m30)), m32);
        facc = O::fma(O::cvt(O::add32(lo, hi)), O::cvt(ls), facc);
      });
      out = O::fma(facc, O::mulf(O::cvtph_lo(v0), O::setf(load_f32(a))), out);
    }
    return out;
  }
  template <class O, class Src, class S>
  [[gnu::always_inline]] static void decode(const Src& src, S& s) {
    typename O::VI v[4];
    src.template t16<O>(0, v);  // v[0] = d | scales_h << 16, v[1] = scales_l
    const typename O::VF d = O::cvtph_lo(v[0]);
    const auto sh = O::template srli32<16>(v[0]);
    unroll<8>([&](auto i) {
      constexpr int I = decltype(i)::value;
      const auto lo = O::and_(O::template srli32<4 * I>(v[1]), O::set1(15));
      const auto hi = O::and_(O::template slli32<4>(O::template srli32<2 * I>(sh)), O::set1(0x30));
      s.fs[I] = O::mulf(O::cvt(O::sub32(O::or_(lo, hi), O::set1(32))), d);
    });
    const auto table = O::iq4_table_u8();
    unroll<4>([&](auto c) {
      constexpr int C = decltype(c)::value;
      typename O::VI x[8];
      src.template t32<O>(8 + 32 * C, x);
      for (int q = 0; q < 8; ++q) {
        // Bytes 0..15 are sub-block 2C (low nibbles elements 0..15, high 16..31), bytes 16..31 sub-block 2C+1.
        const int sb = 2 * C + q / 4, qq = q % 4;
        s.q[8 * sb + qq] = O::shuffle8(table, lo_nib<O>(x[q]));
        s.q[8 * sb + qq + 4] = O::shuffle8(table, hi_nib<O>(x[q]));
      }
    });
  }
};

// ---------------------------------------------------------------------------------------------------------
// Decode of interleaved rows (nc == 1). A type's group_dot (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS) reads a 16-row
// group's tiles straight into registers, lanes being rows as in a slab, and never stores a slab: about 12-13
// vector operations per row and super-block (Q5_K ~23, Q3_K/Q6_K ~20) against ~50 for the per-row kernel on plain
// rows (x86_rowdot.inl), which unpacks scales per row and reduces across lanes. LLC-resident 2-thread matvec,
// plain -> interleaved: Q4_K 26 -> 40 GB/s, Q2_K 11-16 -> 44-53 GB/s, Q5_K 25-26 -> 37-42 GB/s; 2048x7168 in one
// process: Q6_K 33-38 -> 38-42 GB/s (one thread, L2-resident: 19-26 -> 28-40), Q3_K 14-15 -> 21-26 GB/s; IQ4_XS
// (2048x7168, no single-row kernel on plain rows) 11-22 -> 34-48 GB/s. AVX-512 VNNI only: levels are dotted as
// unsigned bytes up to 252, some left scaled up in place rather than shifted down (Q4_K's high nibbles x & 0xF0,
// Q2_K's x & 0xC0, Q5_K's 8x high levels, Q6_K's 4x, Q3_K's 2^k, IQ4_XS's table values + 128), which VPDPBUSD sums
// exactly and AVX2's saturating maddubs would not; the bit selects are VPTERNLOGD; and without a group_dot the
// slab path decodes slower than the per-row kernel, so such types stay plain.

template <class P, class O>
concept HasGroupDot = requires(const uint8_t* p) { P::template group_dot<O>(p, 1, p); };

// y[r] for nr interleaved rows (nr % 16 == 0), one group per vector.
template <class O, class P>
void decode_groups(const uint8_t* w, size_t w_stride, int64_t nr, const uint8_t* a, int64_t n, float* y) {
  for (int64_t r = 0; r < nr; r += 16) O::storefu(y + r, P::template group_dot<O>(w + r * w_stride, n / 256, a));
}

// ---------------------------------------------------------------------------------------------------------
// The kernel body: W slabs x T tokens over nsb consecutive super-blocks; adds into out[w][t].

template <class O, class P>
using SlabOf = Slab<O, 64 / P::kSubQuads, P::kMins>;

template <class P>
inline int32_t sub_offset(const uint8_t* ab, int j) {
  if constexpr (P::kSubQuads == 4) return -P::kOff * load_i16(ab + 260 + 2 * j);
  else return -P::kOff * (load_i16(ab + 260 + 4 * j) + load_i16(ab + 262 + 4 * j));
}

template <class O, class P, int W, int T>
void body(const SlabOf<O, P>* slabs, int nsb, const uint8_t* const* act, typename O::VF (&out)[W][T]) {
  using VI = typename O::VI;
  using VF = typename O::VF;
  constexpr int kNS = 64 / P::kSubQuads;
  constexpr int kRun = O::kVnni ? P::kSubQuads : std::min(P::kSubQuads, 32767 / (2 * P::kUmax * 127));
  static_assert(kRun >= 1 && P::kSubQuads % kRun == 0);
  for (int sb = 0; sb < nsb; ++sb) {
    const SlabOf<O, P>* S = slabs + sb * W;
    const uint8_t* ab[T];
    for (int t = 0; t < T; ++t) ab[t] = act[t] + static_cast<size_t>(sb) * kQ8_KBytes;
    VF facc[W][T];
    for (int w = 0; w < W; ++w)
      for (int t = 0; t < T; ++t) facc[w][t] = O::zerof();
    for (int j = 0; j < kNS; ++j) {
      VI acc[W][T];
      for (int t = 0; t < T; ++t) {
        const VI init = P::kOff ? O::set1(sub_offset<P>(ab[t], j)) : O::zero();
        for (int w = 0; w < W; ++w) acc[w][t] = init;
      }
      if constexpr (O::kVnni) {
#pragma GCC unroll 64
        for (int qq = 0; qq < P::kSubQuads; ++qq) {
          const int Q = j * P::kSubQuads + qq;
          VI wv[W];
          for (int w = 0; w < W; ++w) wv[w] = O::load(&S[w].q[Q]);
          for (int t = 0; t < T; ++t) {
            const VI b = O::bcast(ab[t] + 4 + 4 * Q);
            for (int w = 0; w < W; ++w) acc[w][t] = O::dot(acc[w][t], wv[w], b);
          }
        }
      } else {
        for (int r0 = 0; r0 < P::kSubQuads; r0 += kRun) {
          VI run[W][T];
          for (int w = 0; w < W; ++w)
            for (int t = 0; t < T; ++t) run[w][t] = O::zero();
#pragma GCC unroll 64
          for (int qq = 0; qq < kRun; ++qq) {
            const int Q = j * P::kSubQuads + r0 + qq;
            VI wv[W];
            for (int w = 0; w < W; ++w) wv[w] = O::load(&S[w].q[Q]);
            for (int t = 0; t < T; ++t) {
              const VI b = O::bcast(ab[t] + 4 + 4 * Q);
              for (int w = 0; w < W; ++w) run[w][t] = O::dot(run[w][t], wv[w], b);
            }
          }
          for (int w = 0; w < W; ++w)
            for (int t = 0; t < T; ++t) acc[w][t] = O::add32(acc[w][t], O::flush(run[w][t]));
        }
      }
      for (int w = 0; w < W; ++w) {
        const VF f = O::loadf(&S[w].fs[j]);
        for (int t = 0; t < T; ++t) facc[w][t] = O::fma(O::cvt(acc[w][t]), f, facc[w][t]);
      }
    }
    if constexpr (P::kMins) {
      VI macc[W][T];
      for (int w = 0; w < W; ++w)
        for (int t = 0; t < T; ++t) macc[w][t] = O::zero();
      for (int i = 0; i < 8; ++i) {
        VI c[W];
        for (int w = 0; w < W; ++w) c[w] = O::load(&S[w].mc[i]);
        for (int t = 0; t < T; ++t) {
          const VI b = O::bcast(ab[t] + 260 + 4 * i);
          for (int w = 0; w < W; ++w) macc[w][t] = O::wdot(macc[w][t], c[w], b);
        }
      }
      for (int w = 0; w < W; ++w) {
        const VF md = O::loadf(&S[w].md);
        for (int t = 0; t < T; ++t) facc[w][t] = O::fnma(O::cvt(macc[w][t]), md, facc[w][t]);
      }
    }
    for (int t = 0; t < T; ++t) {
      const VF dy = O::setf(load_f32(ab[t]));
      for (int w = 0; w < W; ++w) out[w][t] = O::fma(facc[w][t], dy, out[w][t]);
    }
  }
}

// Stores (first chunk) or adds the accumulators into y for rows [row0, row0 + W * kRows) clipped to nr.
template <class O, class P, int W, int T>
void run_tokens(const SlabOf<O, P>* slabs, int nsb, const uint8_t* const* act, float* y, size_t ldy, int64_t row0,
                int64_t nr, bool first) {
  typename O::VF out[W][T];
  for (int w = 0; w < W; ++w)
    for (int t = 0; t < T; ++t) out[w][t] = O::zerof();
  body<O, P, W, T>(slabs, nsb, act, out);
  for (int w = 0; w < W; ++w) {
    const int64_t r = row0 + w * O::kRows;
    const int valid = static_cast<int>(std::min<int64_t>(O::kRows, nr - r));
    if (valid <= 0) continue;
    for (int t = 0; t < T; ++t) {
      float* yp = y + static_cast<size_t>(t) * ldy + r;
      typename O::VF v = out[w][t];
      if (valid == O::kRows) {
        if (!first) v = O::addf(v, O::loadfu(yp));
        O::storefu(yp, v);
      } else {
        if (!first) v = O::addf(v, O::loadf_part(yp, valid));
        O::storef_part(yp, v, valid);
      }
    }
  }
}

// The weight bytes the next decode will read (rows x one contiguous byte range each), requested into L2 a
// few lines per token group while the current panel is multiplied. Decoding a slab needs ~2.3 KB in ~300
// cycles, more than a core's share of DRAM bandwidth when both threads decode at once; spread over the token
// loop the same bytes arrive in time (engine pp512 +5-15% in alternating runs; in-L2 microbench -5%).
struct NextPanel {
  const uint8_t* row = nullptr;  // the row being requested
  size_t stride = 0;
  int64_t rows = 0, bytes = 0;   // rows left, bytes per row
  int64_t off = 0;               // next offset in the row
  void set(const uint8_t* b, size_t s, int64_t r, int64_t n) { row = b, stride = s, rows = r, bytes = n, off = 0; }
  int64_t lines() const { return rows * ((bytes + 63) / 64 + 1); }
  void step(int64_t n) {
    for (; n > 0 && rows > 0; --n) {
      _mm_prefetch(reinterpret_cast<const char*>(row + std::min(off, bytes - 1)), _MM_HINT_T1);
      off += 64;
      if (off >= bytes + 64) off = 0, row += stride, --rows;
    }
  }
  void finish() { step(lines()); }
};

// The last nc % kCols tokens: run_tokens with T = rem.
template <class O, class P, int W, int T>
void run_tail(int rem, const SlabOf<O, P>* slabs, int nsb, const uint8_t* const* act, float* y, size_t ldy,
              int64_t row0, int64_t nr, bool first) {
  if constexpr (T >= 1) {
    if (rem == T) return run_tokens<O, P, W, T>(slabs, nsb, act, y, ldy, row0, nr, first);
    run_tail<O, P, W, T - 1>(rem, slabs, nsb, act, y, ldy, row0, nr, first);
  }
}

template <class O, class P, int W>
void run_all_tokens(const SlabOf<O, P>* slabs, int nsb, const uint8_t* a, size_t a_stride, int64_t nc,
                    size_t act_off, float* y, size_t ldy, int64_t row0, int64_t nr, bool first, NextPanel& next) {
  constexpr int T = O::kCols;
  const uint8_t* act[T];
  const int64_t per_group = (next.lines() + nc / T) / (nc / T + 1);
  int64_t c0 = 0;
  for (; c0 + T <= nc; c0 += T) {
    next.step(per_group);
    for (int t = 0; t < T; ++t) act[t] = a + static_cast<size_t>(c0 + t) * a_stride + act_off;
    run_tokens<O, P, W, T>(slabs, nsb, act, y + static_cast<size_t>(c0) * ldy, ldy, row0, nr, first);
  }
  next.finish();
  const int rem = static_cast<int>(nc - c0);
  if (rem == 0) return;
  for (int t = 0; t < rem; ++t) act[t] = a + static_cast<size_t>(c0 + t) * a_stride + act_off;
  run_tail<O, P, W, T - 1>(rem, slabs, nsb, act, y + static_cast<size_t>(c0) * ldy, ldy, row0, nr, first);
}

// Thread-local panel scratch, grown on first use per thread (never in the steady state).
inline uint8_t* scratch(size_t bytes) {
  thread_local std::unique_ptr<uint8_t[]> buf;
  thread_local size_t cap = 0;
  if (cap < bytes) {
    buf.reset(new uint8_t[bytes + 64]);
    cap = bytes;
  }
  const auto p = reinterpret_cast<uintptr_t>(buf.get());
  return reinterpret_cast<uint8_t*>((p + 63) & ~uintptr_t{63});
}

// One slab, out of line: the decoders need most registers, the tile loop around them many more.
template <class O, class P>
[[gnu::noinline]] void decode_slab(const uint8_t* b, size_t st, SlabOf<O, P>& s) {
  P::template decode<O>(RowSource{b, st}, s);
}
template <class O, class P>
[[gnu::noinline]] void decode_tile_slab(const uint8_t* tile, SlabOf<O, P>& s) {
  P::template decode<O>(TileSource{tile}, s);
}

// Every cache line of [p, p + n), into L1 (T0) or L2 (T1).
template <decltype(_MM_HINT_T0) kHint>  // GCC: enum _mm_hint; clang: int
inline void prefetch_range(const uint8_t* p, int64_t n) {
  for (int64_t o = 0; o < n; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + o), kHint);
  _mm_prefetch(reinterpret_cast<const char*>(p + n - 1), kHint);
}

template <class O, class P, class K>
void tile(const void* w, size_t w_stride, int64_t nr, const void* a, size_t a_stride, int64_t nc, int64_t n, float* y,
          size_t ldy) {
  if (nc < O::kMinCols) return mat_tile_simd<K>(w, w_stride, nr, a, a_stride, nc, n, y, ldy);
  using S = SlabOf<O, P>;
  constexpr int R = O::kRows, W = O::kPanels;
  static_assert(W == 1 || W == 2, "row tails use the W = 1 body");
  const int64_t nb = n / 256;
  const int chunk = static_cast<int>(std::min<int64_t>(nb, O::kChunk));
  auto* slabs = reinterpret_cast<S*>(scratch(sizeof(S) * W * O::kChunk));
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  // The first panel's bytes, all requested before its decode waits on them line by line.
  for (int64_t i = 0; i < std::min<int64_t>(nr, R * W); ++i)
    prefetch_range<_MM_HINT_T1>(wb + i * w_stride, chunk * P::kBytes);
  for (int64_t row0 = 0; row0 < nr; row0 += R * W) {
    const int wn = static_cast<int>(std::min<int64_t>(W, (nr - row0 + R - 1) / R));
    for (int64_t sb0 = 0; sb0 < nb; sb0 += chunk) {
      const int nsb = static_cast<int>(std::min<int64_t>(chunk, nb - sb0));
      for (int s = 0; s < nsb; ++s)
        for (int v = 0; v < wn; ++v) {
          const int64_t r = row0 + v * R;
          const int valid = static_cast<int>(std::min<int64_t>(R, nr - r));
          const uint8_t* blk = wb + r * w_stride + (sb0 + s) * P::kBytes;
          // The next super-block of these rows while this one decodes: 16 strided streams are more than the
          // hardware prefetchers follow (weights come from DRAM once per call).
          if (sb0 + s + 1 < nb)
            for (int i = 0; i < valid; ++i) prefetch_range<_MM_HINT_T0>(blk + i * w_stride + P::kBytes, P::kBytes);
          if (valid == R) {
            decode_slab<O, P>(blk, w_stride, slabs[s * wn + v]);
          } else {  // a partial slab: its rows' blocks copied next to zero blocks
            alignas(64) uint8_t stage[R * P::kBytes];
            for (int i = 0; i < valid; ++i) std::memcpy(stage + i * P::kBytes, blk + i * w_stride, P::kBytes);
            std::memset(stage + valid * P::kBytes, 0, (R - valid) * P::kBytes);
            decode_slab<O, P>(stage, P::kBytes, slabs[s * wn + v]);
          }
        }
      // What the next decode reads: the next super-blocks of these rows, or the first ones of the next rows.
      NextPanel next;
      if (sb0 + chunk < nb)
        next.set(wb + row0 * w_stride + (sb0 + chunk) * P::kBytes, w_stride, std::min<int64_t>(nr - row0, R * W),
                 std::min<int64_t>(chunk, nb - sb0 - chunk) * P::kBytes);
      else if (row0 + R * W < nr)
        next.set(wb + (row0 + R * W) * w_stride, w_stride, std::min<int64_t>(nr - row0 - R * W, R * W),
                 chunk * P::kBytes);
      const size_t act_off = static_cast<size_t>(sb0) * kQ8_KBytes;
      if (wn == W)
        run_all_tokens<O, P, W>(slabs, nsb, ab, a_stride, nc, act_off, y, ldy, row0, nr, sb0 == 0, next);
      else
        run_all_tokens<O, P, 1>(slabs, nsb, ab, a_stride, nc, act_off, y, ldy, row0, nr, sb0 == 0, next);
    }
  }
}

// mat_tile over interleaved rows (TypeKernels::mat_tile_i16): nr a multiple of 16, w at a group start.
// Decode takes the type's group_dot; more tokens take the panel path with slabs decoded from the tiles by
// plain loads (no transposition), each group's tiles being one contiguous run of memory to stream.
template <class O, class P>
void tile_i16(const void* w, size_t w_stride, int64_t nr, const void* a, size_t a_stride, int64_t nc, int64_t n,
              float* y, size_t ldy) {
  using S = SlabOf<O, P>;
  constexpr int R = O::kRows, W = O::kPanels;
  constexpr int64_t G = 16;                       // rows per interleaved group
  constexpr size_t kTile = G * P::kBytes;         // one super-block of a group
  static_assert(R == G && W >= 1, "a slab is one group");
  if (nc == 1)
    return decode_groups<O, P>(static_cast<const uint8_t*>(w), w_stride, nr, static_cast<const uint8_t*>(a), n, y);
  const int64_t nb = n / 256;
  const size_t group_stride = G * w_stride;
  const int chunk = static_cast<int>(std::min<int64_t>(nb, O::kChunk));
  auto* slabs = reinterpret_cast<S*>(scratch(sizeof(S) * W * O::kChunk));
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  const auto group = [&](int64_t r) { return wb + (r / G) * group_stride; };
  const auto groups_in = [&](int64_t row0) { return std::min<int64_t>(nr - row0, R * W) / G; };
  prefetch_range<_MM_HINT_T1>(group(0), chunk * kTile);
  if (groups_in(0) > 1) prefetch_range<_MM_HINT_T1>(group(G), chunk * kTile);
  for (int64_t row0 = 0; row0 < nr; row0 += R * W) {
    const int wn = static_cast<int>(std::min<int64_t>(W, (nr - row0) / R));
    for (int64_t sb0 = 0; sb0 < nb; sb0 += chunk) {
      const int nsb = static_cast<int>(std::min<int64_t>(chunk, nb - sb0));
      for (int s = 0; s < nsb; ++s)
        for (int v = 0; v < wn; ++v) {
          const int64_t r = row0 + v * R;
          decode_tile_slab<O, P>(group(r) + (sb0 + s) * kTile, slabs[s * wn + v]);
        }
      // The next tiles of these groups, or the first ones of the next groups (one contiguous run per group).
      NextPanel next;
      if (sb0 + chunk < nb)
        next.set(group(row0) + (sb0 + chunk) * kTile, group_stride, groups_in(row0),
                 std::min<int64_t>(chunk, nb - sb0 - chunk) * kTile);
      else if (row0 + R * W < nr)
        next.set(group(row0 + R * W), group_stride, groups_in(row0 + R * W), chunk * kTile);
      const size_t act_off = static_cast<size_t>(sb0) * kQ8_KBytes;
      if (wn == W)
        run_all_tokens<O, P, W>(slabs, nsb, ab, a_stride, nc, act_off, y, ldy, row0, nr, sb0 == 0, next);
      else
        run_all_tokens<O, P, 1>(slabs, nsb, ab, a_stride, nc, act_off, y, ldy, row0, nr, sb0 == 0, next);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Interleaved rows of the 32-element "legacy" types against Q8_0 activations: Q4_0 and IQ4_NL (18-byte
// blocks, tile = 4 lines + half line, 288 bytes), Q8_0 (34 bytes: 8 lines + half line, 544 bytes). AVX-512
// VNNI only, like the K-quants' group_dot.
//
// Decode (nc == 1). Weight and activation blocks both start with a 2-byte fp16 d, so line k of a tile
// (block bytes 4k..4k+3 of the 16 rows) lines up with the activation block's bytes 4k..4k+3: Q8_0 levels
// q[4k-2..4k+1] against a[4k-2..4k+1]; Q4_0/IQ4_NL low nibbles of qs[4k-2..4k+1] (elements 4k-2..4k+1)
// against activation bytes 4k.., high nibbles (elements 4k+14..4k+17) against bytes 4k+16... Line 0's bytes
// 0-1 are the row's d (read from there as fp16, cvtph) and are masked out of the dots; the half line (the
// last 2 block bytes of each row, zero-extended and moved to lane bytes 2-3) is dotted against the
// activation quad ending with the matching 2 bytes, so no activation byte past the block is read.
// Levels are dotted as unsigned bytes u = level + kOff (Q4_0: the nibble, level = nibble - 8; IQ4_NL: table
// value + 128; Q8_0: q ^ 0x80 = q + 128) and each block's sum starts at -kOff * sum(a), computed once per
// call for every activation block (with its d as float) into a thread-local array. So the integer sum per
// block is the reference's sumi exactly, and the result is the sum over blocks of sumi * (d_w * d_a) as
// there (|sumi| <= 32 * 255 * 128 < 2^24: exact in float); only the float summation order differs.
//
// nc >= 2: the same kernel with up to four tokens per pass over a group (legacy_tile_i16).

enum class Legacy { Q4_0, IQ4_NL, Q8_0 };

template <Legacy kKind>
struct GemmLegacy {
  static constexpr int kBytes = kKind == Legacy::Q8_0 ? 34 : 18, kLines = kBytes / 4;
  static constexpr int kOff = kKind == Legacy::Q4_0 ? 8 : 128;
  // Per Q8_0 activation block: -kOff * the sum of its 32 levels, and its d.
  struct Act {
    int32_t bias;
    float d;
  };
  static void prepare(const uint8_t* a, int64_t nb, Act* s) {
    const __m256i ones = _mm256_set1_epi8(1);
    for (int64_t b = 0; b < nb; ++b, a += kQ8_0Bytes)
      s[b] = Act{-kOff * hsum_i32(Ops::dot(_mm256_setzero_si256(), ones, load256(a + 2))), fp16(a)};
  }
  // One interleaved 16-row group (nb tiles) against T tokens' activation blocks a[t] (their Act at s[t]):
  // each weight line is loaded once and dotted with every token; out[t] gets the 16 rows' results.
  template <class O, int T>
  static void group_dot(const uint8_t* g, int64_t nb, const uint8_t* const* a, const Act* const* s,
                        typename O::VF (&out)[T]) {
    using VI = typename O::VI;
    static_assert(O::kRows == 16, "one 16-row group per vector");
    constexpr int kTile = 16 * kBytes;
    const VI m0f = O::set1_8(0x0F), mhead = O::set1(static_cast<int>(0xFFFF0000u));
    const VI m0f_head = O::and_(m0f, mhead), flip = O::set1_8(0x80), flip_head = O::and_(flip, mhead);
    const VI table = kKind == Legacy::IQ4_NL ? O::iq4_table_u8() : O::zero();
    // The 4-bit types' nibbles (low 4 bits of each byte of x) as dotted bytes; head: lane bytes 0-1 are
    // not levels and become 0.
    const auto nib = [&](VI x, bool head) {
      if constexpr (kKind == Legacy::IQ4_NL) {
        const VI u = O::shuffle8(table, O::and_(x, m0f));
        return head ? O::and_(u, mhead) : u;
      } else {
        return O::and_(x, head ? m0f_head : m0f);
      }
    };
    for (int t = 0; t < T; ++t) out[t] = O::zerof();
    for (int64_t b = 0; b < nb; ++b, g += kTile) {
      prefetch_ahead<kTile>(g);
      const VI x0 = O::loadu(g);
      // The last 2 bytes of each row's block in lane bytes 2-3.
      const VI h = O::template slli32<16>(
          _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + 64 * kLines))));
      VI acc0[T], acc1[T];
      const uint8_t* ab[T];
      for (int t = 0; t < T; ++t) {
        acc0[t] = O::set1(s[t][b].bias);
        acc1[t] = O::zero();
        ab[t] = a[t] + b * kQ8_0Bytes;
      }
      if constexpr (kKind == Legacy::Q8_0) {
        unroll<kLines>([&](auto k) {
          constexpr int K = decltype(k)::value;
          const VI x = K == 0 ? x0 : O::loadu(g + 64 * K);
          // q + 128 as unsigned bytes; line 0's d bytes: ternary (x ^ 0x80..) & mask, else a plain xor.
          const VI u = K == 0 ? _mm512_ternarylogic_epi32(x, flip_head, mhead, 0x28)  // (a ^ b) & c
                              : _mm512_xor_si512(x, flip);
          for (int t = 0; t < T; ++t) {
            if constexpr (K % 2 == 0) acc0[t] = O::dot(acc0[t], u, O::bcast(ab[t] + 4 * K));
            else acc1[t] = O::dot(acc1[t], u, O::bcast(ab[t] + 4 * K));
          }
        });
        const VI uh = _mm512_xor_si512(h, flip_head);
        for (int t = 0; t < T; ++t) acc1[t] = O::dot(acc1[t], uh, O::bcast(ab[t] + 30));
      } else {
        unroll<kLines>([&](auto k) {
          constexpr int K = decltype(k)::value;
          const VI x = K == 0 ? x0 : O::loadu(g + 64 * K);
          const VI lo = nib(x, K == 0), hi = nib(O::template srli16<4>(x), K == 0);
          for (int t = 0; t < T; ++t) {
            acc0[t] = O::dot(acc0[t], lo, O::bcast(ab[t] + 4 * K));
            acc1[t] = O::dot(acc1[t], hi, O::bcast(ab[t] + 16 + 4 * K));
          }
        });
        const VI hlo = nib(h, true), hhi = nib(O::template srli16<4>(h), true);
        for (int t = 0; t < T; ++t) {
          acc0[t] = O::dot(acc0[t], hlo, O::bcast(ab[t] + 14));
          acc1[t] = O::dot(acc1[t], hhi, O::bcast(ab[t] + 30));
        }
      }
      const typename O::VF dw = O::cvtph_lo(x0);
      for (int t = 0; t < T; ++t)
        out[t] = O::fma(O::cvt(O::add32(acc0[t], acc1[t])), O::mulf(dw, O::setf(s[t][b].d)), out[t]);
    }
  }
};

// Rows [0, nr) (nr % 16 == 0) of interleaved groups against tokens [0, T) starting at a (a_stride apart);
// y + t * ldy + r. acts[t] are the tokens' prepared activation blocks.
template <class O, class P, int T>
void legacy_groups(const uint8_t* w, size_t w_stride, int64_t nr, const uint8_t* a, size_t a_stride,
                   const typename P::Act* acts, int64_t nb, float* y, size_t ldy) {
  const uint8_t* ap[T];
  const typename P::Act* sp[T];
  for (int t = 0; t < T; ++t) ap[t] = a + t * a_stride, sp[t] = acts + t * nb;
  for (int64_t r = 0; r < nr; r += 16) {
    typename O::VF out[T];
    P::template group_dot<O, T>(w + r * w_stride, nb, ap, sp, out);
    for (int t = 0; t < T; ++t) O::storefu(y + t * ldy + r, out[t]);
  }
}

// TypeKernels::mat_tile_i16 of a legacy type. Tokens go four at a time through the groups, so each weight line
// is loaded once per four tokens; the row range (an L2-sized prefill block) is read again per four tokens.
template <class O, class P>
void legacy_tile_i16(const void* w, size_t w_stride, int64_t nr, const void* a, size_t a_stride, int64_t nc, int64_t n,
                     float* y, size_t ldy) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  const int64_t nb = n / 32;
  auto* acts = reinterpret_cast<typename P::Act*>(scratch(sizeof(typename P::Act) * static_cast<size_t>(nb * nc)));
  for (int64_t t = 0; t < nc; ++t) P::prepare(ab + t * a_stride, nb, acts + t * nb);
  auto pass = [&]<int T>(int64_t t) {
    legacy_groups<O, P, T>(wb, w_stride, nr, ab + t * a_stride, a_stride, acts + t * nb, nb, y + t * ldy, ldy);
  };
  int64_t t = 0;
  for (; t + 4 <= nc; t += 4) pass.template operator()<4>(t);
  if (nc - t == 3) pass.template operator()<3>(t);
  if (nc - t == 2) pass.template operator()<2>(t);
  if (nc - t == 1) pass.template operator()<1>(t);
}

template <class O, class P>
void route_legacy(KernelTable& t, TensorType type) {
  if constexpr (O::kRows == 16 && O::kVnni) t.types[static_cast<size_t>(type)].mat_tile_i16 = legacy_tile_i16<O, P>;
}

template <class O, class P, class K>
void route(KernelTable& t, TensorType type) {
  if constexpr (!P::kNeedsVnni || O::kVnni) {
    t.types[static_cast<size_t>(type)].mat_tile = tile<O, P, K>;
    if constexpr (O::kRows == 16 && O::kVnni && HasGroupDot<P, O>)
      t.types[static_cast<size_t>(type)].mat_tile_i16 = tile_i16<O, P>;
  }
}

}  // namespace gemm

// Points mat_tile of the K-quants at the panel GEMM (which keeps dot<NC> for nc < GemmOps::kMinCols), and at
// AVX-512 VNNI gives the K-quants and Q4_0/IQ4_NL/Q8_0 mat_tile_i16 (interleaved rows).
void fill_x86_gemm(KernelTable& t) {
  gemm::route<GemmOps, gemm::GemmQ2_K, KDot<DecQ2_K>>(t, TensorType::Q2_K);
  gemm::route<GemmOps, gemm::GemmQ3_K, KDot<DecQ3_K>>(t, TensorType::Q3_K);
  gemm::route<GemmOps, gemm::GemmQ4_K, KDot<DecQ4_K>>(t, TensorType::Q4_K);
  gemm::route<GemmOps, gemm::GemmQ5_K, KDot<DecQ5_K>>(t, TensorType::Q5_K);
  gemm::route<GemmOps, gemm::GemmQ6_K, KDot<DecQ6_K>>(t, TensorType::Q6_K);
  gemm::route<GemmOps, gemm::GemmIQ4_XS, KDot<DecIQ4_XS>>(t, TensorType::IQ4_XS);
  gemm::route_legacy<GemmOps, gemm::GemmLegacy<gemm::Legacy::Q4_0>>(t, TensorType::Q4_0);
  gemm::route_legacy<GemmOps, gemm::GemmLegacy<gemm::Legacy::IQ4_NL>>(t, TensorType::IQ4_NL);
  gemm::route_legacy<GemmOps, gemm::GemmLegacy<gemm::Legacy::Q8_0>>(t, TensorType::Q8_0);
}
