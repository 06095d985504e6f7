// The tiled attention compiled for AVX-512 (F/BW/VL/DQ; chosen when the kernel level is avx512): every
// query head of a GQA group is scored and accumulated in one pass over each converted K/V block, so the
// block is read from L1 once per group instead of once per head.
//
// Scores. A vector holds GP = 4, 2 or 1 query heads (the largest that divides the group) x W = 16 / GP
// consecutive dimensions. qx holds the scaled query in that layout; the key operand is W dimensions of
// one key row broadcast GP times (vbroadcastf32x4 / f32x8 / a plain load: load-port only, no shuffle).
// After all dimensions, each accumulator holds GP heads x W partial sums for one key; W accumulators
// (W keys) reduce to one tile of GP heads x W keys with a shuffle tree (9 / 22 / 45 operations per
// 16 scores). A tile lives at sbuf[(j / W) * group * W + h * W + j % W]: the probability of head h and
// key j, so P.V broadcasts it straight from memory.
//
// Softmax per tile (masked to the block's n keys), then P.V with up to 8 heads x 32 output columns in
// registers across the block (each V row load feeds 8 heads), the rescale of the accumulators folded
// into their load.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ops/attention.h"
#include "ops/attention_levels.h"

// GCC 12's AVX-512 headers build some results from deliberately undefined vectors (_mm512_undefined_*),
// which -Wuninitialized reports at every use site.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace strata::attn_avx512 {
namespace {

inline float exp_f(float x) { return std::exp(x); }

// exp(x) for x <= 0: Cephes-style range reduction and degree-6 polynomial (as the AVX2 build), within
// ~2 ulp of expf; inputs below -87.3 are clamped (a softmax weight of e^-87 cannot be told from 0).
inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
  const __m512 fn = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 v = _mm512_fnmadd_ps(fn, _mm512_set1_ps(0.693359375f), x);
  v = _mm512_fnmadd_ps(fn, _mm512_set1_ps(-2.12194440e-4f), v);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(v, v), _mm512_add_ps(v, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, fn);
}

// Dimensions per vector lane group: 4 heads x 4 dims when the group allows, else 2 x 8, else 1 x 16.
inline int dims_per_head(int64_t group) { return group % 4 == 0 ? 4 : group % 2 == 0 ? 8 : 16; }

// qx[(hv * steps + i) * 16 + hh * W + w] = scale * q[head hv * GP + hh][i * W + w] (0 past dk).
inline void prepare_q(const AttnGeo& G, const float* q, float* qx) {
  const int W = dims_per_head(G.group), GP = 16 / W;
  const int64_t steps = G.dkp / W;
  const __m512 sc = _mm512_set1_ps(G.scale);
  if (W == 16) {
    for (int64_t h = 0; h < G.group; ++h)
      for (int64_t d = 0; d < G.dkp; d += 16) {
        const __mmask16 m = d + 16 <= G.dk ? 0xFFFF : d >= G.dk ? 0 : static_cast<__mmask16>((1u << (G.dk - d)) - 1);
        _mm512_storeu_ps(qx + h * G.dkp + d, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, q + h * G.dk + d), sc));
      }
    return;
  }
  for (int64_t hv = 0; hv < G.group / GP; ++hv)
    for (int64_t i = 0; i < steps; ++i) {
      const int64_t d = i * W;
      const unsigned m = d + W <= G.dk ? (1u << W) - 1 : d >= G.dk ? 0u : (1u << (G.dk - d)) - 1;
      const float* qh = q + hv * GP * G.dk + d;
      __m512 x;
      if (W == 4) {
        const __mmask8 m4 = static_cast<__mmask8>(m);
        x = _mm512_castps128_ps512(_mm_maskz_loadu_ps(m4, qh));
        x = _mm512_insertf32x4(x, _mm_maskz_loadu_ps(m4, qh + G.dk), 1);
        x = _mm512_insertf32x4(x, _mm_maskz_loadu_ps(m4, qh + 2 * G.dk), 2);
        x = _mm512_insertf32x4(x, _mm_maskz_loadu_ps(m4, qh + 3 * G.dk), 3);
      } else {
        const __mmask8 m8 = static_cast<__mmask8>(m);
        x = _mm512_castps256_ps512(_mm256_maskz_loadu_ps(m8, qh));
        x = _mm512_insertf32x8(x, _mm256_maskz_loadu_ps(m8, qh + G.dk), 1);
      }
      _mm512_storeu_ps(qx + (hv * steps + i) * 16, _mm512_mul_ps(x, sc));
    }
}

// Q8_0: the scale of the block holding element col, broadcast (one conversion per block, not per 16
// values), and 16 values of that block from col on (col a multiple of 16). d * q is exact in float, as in
// dequantize_q8_0.
inline __m512 q8_0_scale(const uint8_t* row, int64_t col) {
  uint16_t h;
  std::memcpy(&h, row + (col / 32) * 34, 2);
  return _mm512_cvtph_ps(_mm256_set1_epi16(static_cast<short>(h)));
}
inline __m512 q8_0_16(const uint8_t* row, int64_t col, __m512 d) {
  const uint8_t* q = row + (col / 32) * 34 + 2 + col % 32;
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)))), d);
}

// n_rows rows of `width` elements (cache rows `row_bytes` apart, F16, F32 or Q8_0 from a block edge) ->
// dst rows of `padded` floats, zero past width.
inline void convert_rows(const uint8_t* src, uint64_t row_bytes, TensorType type, int64_t n_rows, int64_t width,
                         int64_t padded, float* dst) {
  const int64_t full = width / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (width - full)) - 1);
  for (int64_t j = 0; j < n_rows; ++j, src += row_bytes, dst += padded) {
    int64_t d = 0;
    if (type == TensorType::Q8_0) {
      for (; d < width; d += 32) {  // width: whole blocks
        const __m512 sc = q8_0_scale(src, d);
        _mm512_storeu_ps(dst + d, q8_0_16(src, d, sc));
        _mm512_storeu_ps(dst + d + 16, q8_0_16(src, d + 16, sc));
      }
    } else if (type == TensorType::F16) {
      const auto* h = reinterpret_cast<const uint16_t*>(src);
      for (; d < full; d += 16)
        _mm512_storeu_ps(dst + d, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + d))));
      if (d < padded) _mm512_storeu_ps(dst + d, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, h + d)));
    } else {
      const auto* f = reinterpret_cast<const float*>(src);
      for (; d < full; d += 16) _mm512_storeu_ps(dst + d, _mm512_loadu_ps(f + d));
      if (d < padded) _mm512_storeu_ps(dst + d, _mm512_maskz_loadu_ps(tail, f + d));
    }
  }
}

// Keys of KV head g, rows b0 .. b0 + nb - 1 -> kf (rows of dkp floats, zero-padded). Values stay in the
// cache (P.V converts them on the fly) unless several queries will read them.
inline AttnBlock load_block(const AttnGeo& G, const KvSpan& k, const KvSpan& v, int64_t g, int64_t b0, int64_t nb,
                            float* kf, float* vf, bool convert_v) {
  const AttnBlock kb = attn_raw_values(k, g, b0);  // the same addressing, for the keys
  convert_rows(kb.v, kb.v_row_bytes, kb.v_type, nb, G.dk, G.dkp, kf);
  AttnBlock blk = attn_raw_values(v, g, b0);
  blk.kf = kf;
  if (convert_v) {
    convert_rows(blk.v, blk.v_row_bytes, blk.v_type, nb, G.dv, G.dvp, vf);
    blk.vf = vf;
    blk.v = reinterpret_cast<const uint8_t*>(vf);
    blk.v_row_bytes = static_cast<uint64_t>(G.dvp) * sizeof(float);
    blk.v_type = TensorType::F32;
  }
  return blk;
}

template <int W>
inline __m512 key_operand(const float* p) {
  if constexpr (W == 4) return _mm512_broadcast_f32x4(_mm_loadu_ps(p));
  else if constexpr (W == 8) return _mm512_broadcast_f32x8(_mm256_loadu_ps(p));
  else return _mm512_loadu_ps(p);
}

// Per 128-bit block: [a0 + a1, a2 + a3, b0 + b1, b2 + b3].
inline __m512 pair_sums(__m512 a, __m512 b) {
  return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD));
}
// 128-bit blocks: [A0 + A1, A2 + A3, B0 + B1, B2 + B3].
inline __m512 block_sums(__m512 a, __m512 b) {
  return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD));
}
// Four accumulators -> per 128-bit block [sum of a0's block, a1's, a2's, a3's].
inline __m512 sums4(const __m512* a) { return pair_sums(pair_sums(a[0], a[1]), pair_sums(a[2], a[3])); }

// W accumulators (keys j .. j + W - 1; lanes hh * W + w) -> one tile, lane hh * W + key.
template <int W>
inline __m512 reduce_tile(const __m512* a) {
  if constexpr (W == 4) {
    return sums4(a);
  } else if constexpr (W == 8) {
    // blocks [h0 k0-3, h1 k0-3, h0 k4-7, h1 k4-7] -> [h0 k0-3, h0 k4-7, h1 k0-3, h1 k4-7]
    const __m512 s = block_sums(sums4(a), sums4(a + 4));
    return _mm512_shuffle_f32x4(s, s, _MM_SHUFFLE(3, 1, 2, 0));
  } else {
    return block_sums(block_sums(sums4(a), sums4(a + 4)), block_sums(sums4(a + 8), sums4(a + 12)));
  }
}

// Scores of head vectors hv0 .. hv0 + NV - 1 against keys 0 .. nk - 1 (nk a multiple of J), J keys at a time.
// With pf set, one line of the next block's key rows J * j0 / J .. is prefetched per dimension step.
template <int W, int NV, int J>
inline void scores(const AttnGeo& G, const float* qx, int64_t hv0, const float* kf, int64_t nk, float* sbuf,
                   const AttnBlock* pf) {
  static_assert(J % W == 0);
  const int64_t steps = G.dkp / W, qs = steps * 16, dkp = G.dkp;
  const float* qp = qx + hv0 * qs;
  for (int64_t j0 = 0; j0 < nk; j0 += J) {
    __m512 acc[NV][J];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
#pragma GCC unroll 16
      for (int j = 0; j < J; ++j) acc[v][j] = _mm512_setzero_ps();
    const float* kr = kf + j0 * dkp;
    // Prefetch cursor: row pr (of this j0 group) and line pl of the next block's keys.
    const int64_t pf_rows = pf ? std::min<int64_t>(J, pf->pf_rows - j0) : 0;
    const uint8_t* prow = pf_rows > 0 ? pf->pf_k + j0 * pf->pf_k_row_bytes : nullptr;
    int64_t pr = 0, pl = 0;
    for (int64_t i = 0; i < steps; ++i) {
      if (pr < pf_rows) {
        _mm_prefetch(reinterpret_cast<const char*>(prow + pl * 64), _MM_HINT_T0);
        if (++pl == pf->pf_k_lines) {
          pl = 0;
          ++pr;
          prow += pf->pf_k_row_bytes;
        }
      }
      __m512 qv[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) qv[v] = _mm512_loadu_ps(qp + v * qs + i * 16);
#pragma GCC unroll 16
      for (int j = 0; j < J; ++j) {
        const __m512 b = key_operand<W>(kr + j * dkp + i * W);
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[v][j] = _mm512_fmadd_ps(qv[v], b, acc[v][j]);
      }
    }
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v)
#pragma GCC unroll 16
      for (int t = 0; t < J / W; ++t)
        _mm512_storeu_ps(sbuf + (j0 / W + t) * G.group * W + (hv0 + v) * 16, reduce_tile<W>(&acc[v][t * W]));
  }
}

// Within each segment of W lanes, every lane gets the segment's max / sum (a fixed butterfly order).
template <int W>
inline __m512 seg_max(__m512 x) {
  x = _mm512_max_ps(x, _mm512_shuffle_ps(x, x, 0xB1));
  x = _mm512_max_ps(x, _mm512_shuffle_ps(x, x, 0x4E));
  if constexpr (W >= 8) x = _mm512_max_ps(x, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(2, 3, 0, 1)));
  if constexpr (W >= 16) x = _mm512_max_ps(x, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(1, 0, 3, 2)));
  return x;
}
template <int W>
inline __m512 seg_sum(__m512 x) {
  x = _mm512_add_ps(x, _mm512_shuffle_ps(x, x, 0xB1));
  x = _mm512_add_ps(x, _mm512_shuffle_ps(x, x, 0x4E));
  if constexpr (W >= 8) x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(2, 3, 0, 1)));
  if constexpr (W >= 16) x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(1, 0, 3, 2)));
  return x;
}

// Online-softmax step for every head: tiles of the first n keys become probabilities (0 past n), m and l
// are updated, corr[h] = exp(m_old - m_new) (0 for a fresh state) is left for P.V.
template <int W>
inline void softmax(const AttnGeo& G, int64_t n, float* st, float* sbuf, float* corr) {
  constexpr int GP = 16 / W;
  constexpr int kShift = W == 4 ? 2 : W == 8 ? 3 : 4;
  const int64_t nt = (n + W - 1) / W;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i key = _mm512_and_si512(lane, _mm512_set1_epi32(W - 1));
  const __m512i seg = _mm512_srli_epi32(lane, kShift);    // lane -> its head within the vector
  const __m512i first = _mm512_slli_epi32(lane, kShift);  // head k -> its segment's first lane
  const __mmask16 gm = static_cast<__mmask16>((1u << GP) - 1);
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  const __m512i nv = _mm512_set1_epi32(static_cast<int>(n));
  float* m = G.m(st);
  float* l = G.l(st);
  for (int64_t hv = 0; hv < G.group / GP; ++hv) {
    const __m512 mo = _mm512_permutexvar_ps(seg, _mm512_maskz_loadu_ps(gm, m + hv * GP));
    __m512 bm = ninf;
    for (int64_t jt = 0; jt < nt; ++jt) {
      float* tp = sbuf + jt * G.group * W + hv * 16;
      const __mmask16 valid =
          _mm512_cmplt_epi32_mask(_mm512_add_epi32(key, _mm512_set1_epi32(static_cast<int>(jt * W))), nv);
      const __m512 s = _mm512_mask_blend_ps(valid, ninf, _mm512_loadu_ps(tp));
      _mm512_storeu_ps(tp, s);
      bm = _mm512_max_ps(bm, s);
    }
    const __m512 mn = _mm512_max_ps(mo, seg_max<W>(bm));
    const __m512 cr = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(mo, ninf, _CMP_NEQ_OQ), exp512(_mm512_sub_ps(mo, mn)));
    __m512 ls = _mm512_setzero_ps();
    for (int64_t jt = 0; jt < nt; ++jt) {
      float* tp = sbuf + jt * G.group * W + hv * 16;
      const __mmask16 valid =
          _mm512_cmplt_epi32_mask(_mm512_add_epi32(key, _mm512_set1_epi32(static_cast<int>(jt * W))), nv);
      const __m512 p = _mm512_maskz_mov_ps(valid, exp512(_mm512_sub_ps(_mm512_loadu_ps(tp), mn)));
      _mm512_storeu_ps(tp, p);
      ls = _mm512_add_ps(ls, p);
    }
    const __m512 lo = _mm512_permutexvar_ps(seg, _mm512_maskz_loadu_ps(gm, l + hv * GP));
    const __m512 ln = _mm512_fmadd_ps(lo, cr, seg_sum<W>(ls));
    _mm512_mask_storeu_ps(m + hv * GP, gm, _mm512_permutexvar_ps(first, mn));
    _mm512_mask_storeu_ps(l + hv * GP, gm, _mm512_permutexvar_ps(first, ln));
    _mm512_mask_storeu_ps(corr + hv * GP, gm, _mm512_permutexvar_ps(first, cr));
  }
}

// 16 value columns from col onwards of one value row (F16 or Q8_0 cache, or F32 rows), masked past dv
// (Q8_0 rows have no tails: whole blocks).
template <TensorType kT>
inline __m512 load_v(const uint8_t* row, int64_t col, __mmask16 m) {
  if constexpr (kT == TensorType::Q8_0) {
    return q8_0_16(row, col, q8_0_scale(row, col));
  } else if constexpr (kT == TensorType::F16) {
    if (m == 0xFFFF) return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + col * 2)));
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + col * 2));
  } else {
    if (m == 0xFFFF) return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + col);
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + col);
  }
}

// Bytes of a value row before column col (for Q8_0 rounded up to whole blocks).
template <TensorType kT>
constexpr int64_t v_bytes_at(int64_t col) {
  return kT == TensorType::Q8_0 ? (col + 31) / 32 * 34 : col * (kT == TensorType::F16 ? 2 : 4);
}

// acc[h][c0 .. c0 + 16 NC) = corr[h] * acc + sum_j p[h][j] V_j for heads h0 .. h0 + NH - 1 (the last
// 16-column chunk masked by `tail`).
template <int W, int NH, int NC, TensorType kT>
inline void pv(const AttnGeo& G, const float* sbuf, const float* corr, const AttnBlock& blk, int64_t n, float* acc,
               int64_t h0, int64_t c0, __mmask16 tail) {
  const int64_t dvp = G.dvp, tstride = G.group * W;
  const uint64_t rb = blk.v_row_bytes;
  __m512 a[NH][NC];
#pragma GCC unroll 8
  for (int h = 0; h < NH; ++h) {
    const __m512 cr = _mm512_set1_ps(corr[h0 + h]);
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) a[h][c] = _mm512_mul_ps(_mm512_loadu_ps(acc + (h0 + h) * dvp + c0 + 16 * c), cr);
  }
  // Prefetch of the next block's value bytes this column tile reads (first head set only).
  const int64_t tile_at = kT == TensorType::Q8_0 ? c0 / 32 * 34 : v_bytes_at<kT>(c0);
  const uint8_t* pfv = h0 == 0 && blk.pf_v ? blk.pf_v + tile_at : nullptr;
  const int64_t pf_rows = pfv ? blk.pf_rows : 0;
  const uint64_t pf_rb = blk.pf_v_row_bytes;
  const int64_t tile_bytes = v_bytes_at<kT>(c0 + 16 * NC) - tile_at;
  auto step = [&](const float* pt, const uint8_t* vr, int jj, int64_t j) __attribute__((always_inline)) {
    if (j < pf_rows) {
      const uint8_t* a = pfv + j * pf_rb;
#pragma GCC unroll 8
      for (int64_t o = 0; o < tile_bytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(a + o), _MM_HINT_T0);
    }
    __m512 v[NC];
    if constexpr (kT == TensorType::Q8_0 && NC % 2 == 0) {
      // c0 is a block edge here (pv_all steps 32-column multiples): one scale per pair of vectors.
#pragma GCC unroll 8
      for (int c = 0; c < NC; c += 2) {
        const __m512 sc = q8_0_scale(vr, c0 + 16 * c);
        v[c] = q8_0_16(vr, c0 + 16 * c, sc);
        v[c + 1] = q8_0_16(vr, c0 + 16 * c + 16, sc);
      }
    } else {
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) v[c] = load_v<kT>(vr, c0 + 16 * c, c == NC - 1 ? tail : 0xFFFF);
    }
#pragma GCC unroll 8
    for (int h = 0; h < NH; ++h) {
      const __m512 w = _mm512_set1_ps(pt[h * W + jj]);
#pragma GCC unroll 8
      for (int c = 0; c < NC; ++c) a[h][c] = _mm512_fmadd_ps(w, v[c], a[h][c]);
    }
  };
  const int64_t nfull = n / W;
  const uint8_t* vr = blk.v;
  for (int64_t jt = 0; jt < nfull; ++jt) {
    const float* pt = sbuf + jt * tstride + h0 * W;
#pragma GCC unroll 16
    for (int jj = 0; jj < W; ++jj) step(pt, vr + jj * rb, jj, jt * W + jj);
    vr += W * rb;
  }
  {
    const float* pt = sbuf + nfull * tstride + h0 * W;
    for (int jj = 0; jj < n - nfull * W; ++jj) step(pt, vr + jj * rb, jj, nfull * W + jj);
  }
  // Rows the next block has beyond this one's n (a short block followed by a full one).
  for (int64_t j = n; j < pf_rows; ++j)
    for (int64_t o = 0; o < tile_bytes; o += 64)
      _mm_prefetch(reinterpret_cast<const char*>(pfv + j * pf_rb + o), _MM_HINT_T0);
#pragma GCC unroll 8
  for (int h = 0; h < NH; ++h)
#pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) _mm512_storeu_ps(acc + (h0 + h) * dvp + c0 + 16 * c, a[h][c]);
}

template <int W, int NH, int NC, TensorType kT>
inline void pv_all(const AttnGeo& G, const float* sbuf, const float* corr, const AttnBlock& blk, int64_t n,
                   float* acc) {
  for (int64_t h0 = 0; h0 < G.group; h0 += NH) {
    int64_t c0 = 0;
    for (; c0 + 16 * NC <= G.dv; c0 += 16 * NC) pv<W, NH, NC, kT>(G, sbuf, corr, blk, n, acc, h0, c0, 0xFFFF);
    for (; c0 < G.dv; c0 += 16) {
      const __mmask16 m = c0 + 16 <= G.dv ? 0xFFFF : static_cast<__mmask16>((1u << (G.dv - c0)) - 1);
      pv<W, NH, 1, kT>(G, sbuf, corr, blk, n, acc, h0, c0, m);
    }
  }
}

template <int W, int NH, int NC>
inline void pv_any(const AttnGeo& G, const float* sbuf, const float* corr, const AttnBlock& blk, int64_t n,
                   float* acc) {
  if (blk.v_type == TensorType::F16) pv_all<W, NH, NC, TensorType::F16>(G, sbuf, corr, blk, n, acc);
  else if (blk.v_type == TensorType::Q8_0) pv_all<W, NH, NC, TensorType::Q8_0>(G, sbuf, corr, blk, n, acc);
  else pv_all<W, NH, NC, TensorType::F32>(G, sbuf, corr, blk, n, acc);
}

template <int W>
inline void update(const AttnGeo& G, const float* qx, const AttnBlock& blk, int64_t n, float* st, float* sbuf) {
  const float* kf = blk.kf;
  constexpr int GP = 16 / W;
  const int64_t nhv = G.group / GP;
  const int64_t n8 = (n + 7) / 8 * 8, n16 = (n + 15) / 16 * 16;
  int64_t hv = 0;
  if constexpr (W <= 8)
    for (; hv + 2 <= nhv; hv += 2) scores<W, 2, 8>(G, qx, hv, kf, n8, sbuf, hv == 0 && blk.pf_rows ? &blk : nullptr);
  for (; hv < nhv; ++hv) scores<W, 1, 16>(G, qx, hv, kf, n16, sbuf, hv == 0 && blk.pf_rows ? &blk : nullptr);
  float* corr = sbuf + G.group * kAttnKvBlock;
  softmax<W>(G, n, st, sbuf, corr);
  float* acc = G.acc(st);
  if constexpr (W == 4) {
    if (G.group % 8 == 0) pv_any<4, 8, 2>(G, sbuf, corr, blk, n, acc);
    else pv_any<4, 4, 4>(G, sbuf, corr, blk, n, acc);
  } else if constexpr (W == 8) {
    pv_any<8, 2, 8>(G, sbuf, corr, blk, n, acc);
  } else {
    pv_any<16, 1, 8>(G, sbuf, corr, blk, n, acc);
  }
}

[[gnu::noinline]] void block_update(const AttnGeo& G, const float* qx, const AttnBlock& blk, int64_t n, float* st,
                                    float* sbuf) {
  switch (dims_per_head(G.group)) {
    case 4: update<4>(G, qx, blk, n, st, sbuf); break;
    case 8: update<8>(G, qx, blk, n, st, sbuf); break;
    default: update<16>(G, qx, blk, n, st, sbuf); break;
  }
}

}  // namespace
}  // namespace strata::attn_avx512

#define STRATA_ATTN_NS attn_avx512
#include "ops/attention_impl.inl"
