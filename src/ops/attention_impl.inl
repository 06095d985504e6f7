// The body of the tiled attention, compiled once per instruction-set level (attention.cpp for the
// baseline, attention_avx2.cpp, attention_avx512.cpp) inside namespace STRATA_ATTN_NS. The including file
// supplies:
//   exp_f(x)                      scalar exp (chunk merges)
//   prepare_q(G, q, qx)           the group's query heads (q: head hh at q + hh * dk) in the layout its
//                                 block_update reads (at most group * dkp floats)
//   load_block(G, k, v, g, b0, nb, kf, vf, convert_v) -> Block
//                                 makes rows b0 .. b0 + nb - 1 of KV head g readable by block_update
//                                 (kf, vf: kAttnKvBlock rows of dkp / dvp floats of scratch; convert_v:
//                                 several queries will read the values, convert them once if it helps)
//   block_update(G, qx, blk, n, st, sbuf)
//                                 online-softmax update of state st with keys/values 0..n-1 of the block
//                                 (rows >= n may hold stale data); sbuf: group * (kAttnKvBlock + 1) floats
// or defines STRATA_ATTN_PER_HEAD and supplies f16_row / f32_row / q8_0_row (cache row -> floats; the
// offset in elements, a block edge for Q8_0) and block_scores /
// exp_shifted / block_pv, from which the per-head prepare_q / load_block / block_update below are built.
//
// Every query walks the keys in blocks of kAttnKvBlock *absolute* positions with an online softmax that
// restarts at each multiple of kAttnChunk positions; the chunk states are merged in chunk order. A query's
// arithmetic is therefore the same whichever batch it arrives in, and whether its chunks were computed by
// one task (prompt batches: prefill_task) or by one task per chunk (a decoded token: decode_chunk +
// decode_merge): batch and token-by-token results are bit-identical, and no buffer grows with the square
// of the prompt.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace strata::STRATA_ATTN_NS {

inline constexpr int64_t kKvBlock = kAttnKvBlock;
inline constexpr int64_t kChunk = kAttnChunk;

using Block = AttnBlock;

#ifdef STRATA_ATTN_PER_HEAD
// nb rows of `width` elements (element `offset` onwards) of a cache span -> dst rows of `padded` floats.
template <TensorType kType>
inline void convert_rows(const KvSpan& s, int64_t offset, int64_t r0, int64_t nb, int64_t width, int64_t padded,
                         float* dst) {
  for (int64_t j = 0; j < nb; ++j) {
    const uint8_t* row = s.data + static_cast<uint64_t>(r0 + j) * s.row_bytes;
    if constexpr (kType == TensorType::F16) f16_row(row, offset, dst + j * padded, width);
    else if constexpr (kType == TensorType::Q8_0) q8_0_row(row, offset, dst + j * padded, width);
    else f32_row(row, offset, dst + j * padded, width);
    if (padded != width) std::fill(dst + j * padded + width, dst + (j + 1) * padded, 0.0f);
  }
}
inline void convert_rows(const KvSpan& s, int64_t g, int64_t r0, int64_t nb, int64_t width, int64_t padded,
                         float* dst) {
  const int64_t off = s.offset + g * s.head_stride;
  if (s.type == TensorType::F32) convert_rows<TensorType::F32>(s, off, r0, nb, width, padded, dst);
  else if (s.type == TensorType::Q8_0) convert_rows<TensorType::Q8_0>(s, off, r0, nb, width, padded, dst);
  else convert_rows<TensorType::F16>(s, off, r0, nb, width, padded, dst);
}

// The query heads one at a time: scores against the block, online-softmax update, P.V. qx holds the
// unscaled query heads at stride dkp (zero-padded); the scale multiplies each score.
inline void prepare_q(const AttnGeo& G, const float* q, float* qx) {
  for (int64_t hh = 0; hh < G.group; ++hh) {
    std::memcpy(qx + hh * G.dkp, q + hh * G.dk, static_cast<size_t>(G.dk) * sizeof(float));
    std::fill(qx + hh * G.dkp + G.dk, qx + (hh + 1) * G.dkp, 0.0f);
  }
}

inline Block load_block(const AttnGeo& G, const KvSpan& k, const KvSpan& v, int64_t g, int64_t b0, int64_t nb,
                        float* kf, float* vf, bool /*convert_v*/) {
  convert_rows(k, g, b0, nb, G.dk, G.dkp, kf);
  convert_rows(v, g, b0, nb, G.dv, G.dvp, vf);
  Block b = attn_raw_values(v, g, b0);
  b.kf = kf;
  b.vf = vf;
  return b;
}

[[gnu::noinline]] inline void block_update(const AttnGeo& G, const float* qx, const Block& blk, int64_t n, float* st,
                                           float* sbuf) {
  const float* kf = blk.kf;
  const float* vf = blk.vf;
  float* m = G.m(st);
  float* l = G.l(st);
  for (int64_t hh = 0; hh < G.group; ++hh) {
    float* s = sbuf;
    block_scores(qx + hh * G.dkp, kf, n, G.dkp, s);
    float bm = -INFINITY;
    for (int64_t j = 0; j < n; ++j) {
      s[j] *= G.scale;
      bm = std::max(bm, s[j]);
    }
    const float m_new = std::max(m[hh], bm);
    float* acc = G.acc(st) + hh * G.dvp;
    if (m[hh] != m_new) {
      const float corr = m[hh] == -INFINITY ? 0.0f : exp_f(m[hh] - m_new);
      l[hh] *= corr;
      for (int64_t c = 0; c < G.dv; ++c) acc[c] *= corr;
      m[hh] = m_new;
    }
    exp_shifted(s, n, m_new);
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += s[j];
    l[hh] += sum;
    block_pv(s, n, vf, G.dvp, acc);
  }
}
#endif

inline void reset_state(const AttnGeo& G, float* st) {
  std::fill(G.m(st), G.m(st) + G.group, -INFINITY);
  std::fill(G.l(st), G.l(st) + G.group, 0.0f);
  std::fill(G.acc(st), G.acc(st) + G.group * G.dvp, 0.0f);
}

// R <- C for a query's first chunk, else the merge of R (chunks before) and C (the next chunk). Out of
// line so the prompt and decode paths run the very same instructions.
[[gnu::noinline]] inline void merge_state(const AttnGeo& G, float* R, const float* C, bool first) {
  if (first) {
    std::memcpy(R, C, static_cast<size_t>(G.ss) * sizeof(float));
    return;
  }
  for (int64_t hh = 0; hh < G.group; ++hh) {
    const float mr = G.m(R)[hh], mc = G.m(C)[hh];
    const float m = std::max(mr, mc);
    const float a = mr == -INFINITY ? 0.0f : exp_f(mr - m);
    const float b = mc == -INFINITY ? 0.0f : exp_f(mc - m);
    G.m(R)[hh] = m;
    G.l(R)[hh] = G.l(R)[hh] * a + G.l(C)[hh] * b;
    float* ar = G.acc(R) + hh * G.dvp;
    const float* ac = G.acc(C) + hh * G.dvp;
    for (int64_t c = 0; c < G.dv; ++c) ar[c] = ar[c] * a + ac[c] * b;
  }
}

// out[hh * dv + c] = acc / l for the group's heads.
[[gnu::noinline]] inline void finish_state(const AttnGeo& G, const float* R, float* out) {
  for (int64_t hh = 0; hh < G.group; ++hh) {
    const float inv = 1.0f / G.l(R)[hh];
    const float* acc = G.acc(R) + hh * G.dvp;
    for (int64_t c = 0; c < G.dv; ++c) out[hh * G.dv + c] = acc[c] * inv;
  }
}

// Scratch carving, every buffer 64-byte aligned.
struct Carve {
  float* p;
  explicit Carve(float* base)
      : p(reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(base) + 63) & ~uintptr_t{63})) {}
  float* take(int64_t n) {
    float* r = p;
    p += AttnGeo::pad16(n);
    return r;
  }
};
inline size_t common_floats(const AttnGeo& G) {
  return static_cast<size_t>(16 + AttnGeo::pad16(kKvBlock * G.dkp) + AttnGeo::pad16(kKvBlock * G.dvp) +
                             AttnGeo::pad16(G.group * (kKvBlock + 1)));
}

inline size_t prefill_floats(const AttnGeo& G, int64_t nq) {
  return common_floats(G) + static_cast<size_t>(nq * (AttnGeo::pad16(G.group * G.dkp) + 2 * AttnGeo::pad16(G.ss)));
}

// One KV head g and the queries [t0, t1) of every query head that reads it.
inline void prefill(const AttentionParams& p, const Mat& q, const int32_t* pos, const KvSpan& k, const KvSpan& v,
                    const Mat& out, int64_t g, int64_t t0, int64_t t1, float* scratch) {
  const AttnGeo G(p);
  const int64_t nq = t1 - t0;
  Carve cv(scratch);
  float* kf = cv.take(kKvBlock * G.dkp);
  float* vf = cv.take(kKvBlock * G.dvp);
  float* sbuf = cv.take(G.group * (kKvBlock + 1));
  const int64_t qxs = AttnGeo::pad16(G.group * G.dkp), sts = AttnGeo::pad16(G.ss);
  float* qx = cv.take(nq * qxs);
  float* R = cv.take(nq * sts);
  float* C = cv.take(nq * sts);
  int32_t max_pos = 0;
  for (int64_t qi = 0; qi < nq; ++qi) {
    prepare_q(G, q.row(t0 + qi) + g * G.group * G.dk, qx + qi * qxs);
    reset_state(G, C + qi * sts);
    max_pos = std::max(max_pos, pos[t0 + qi]);
  }
  for (int64_t b0 = 0; b0 <= max_pos; b0 += kKvBlock) {
    const int64_t nb = std::min<int64_t>(kKvBlock, max_pos + 1 - b0);
    const Block blk = load_block(G, k, v, g, b0, nb, kf, vf, true);
    for (int64_t qi = 0; qi < nq; ++qi) {
      const int64_t t = t0 + qi;
      if (pos[t] < b0) continue;
      const int64_t n = std::min<int64_t>(nb, pos[t] + 1 - b0);
      float* c = C + qi * sts;
      block_update(G, qx + qi * qxs, blk, n, c, sbuf);
      // The chunk ends here, or the query's keys do: fold the chunk into the query's running state.
      if ((b0 + kKvBlock) % kChunk == 0 || pos[t] < b0 + kKvBlock) {
        merge_state(G, R + qi * sts, c, b0 < kChunk);
        reset_state(G, c);
      }
    }
  }
  for (int64_t qi = 0; qi < nq; ++qi) finish_state(G, R + qi * sts, out.row(t0 + qi) + g * G.group * G.dv);
}

inline size_t decode_floats(const AttnGeo& G, int64_t n_g) {
  return common_floats(G) + static_cast<size_t>(n_g * AttnGeo::pad16(G.group * G.dkp));
}

// Chunk c of one decoded query, KV heads [g0, g1): block by block, every head of the range, so the task
// reads whole cache rows front to back (measured 20% faster at 2 threads than one head after the other,
// which reads a quarter of each row per pass). Each block_update is told which rows come next (the next
// head's part of the block, or the next block) so it can prefetch them between its multiply-adds.
inline void decode_chunk_impl(const AttentionParams& p, const float* q, int32_t pos, const KvSpan& k, const KvSpan& v,
                              int64_t g0, int64_t g1, int64_t c, float* partial, float* scratch) {
  const AttnGeo G(p);
  Carve cv(scratch);
  float* kf = cv.take(kKvBlock * G.dkp);
  float* vf = cv.take(kKvBlock * G.dvp);
  float* sbuf = cv.take(G.group * (kKvBlock + 1));
  const int64_t qxs = AttnGeo::pad16(G.group * G.dkp);
  float* qx = cv.take((g1 - g0) * qxs);
  const int64_t first = c * kChunk, end = std::min<int64_t>((c + 1) * kChunk, int64_t{pos} + 1);
  const bool same_rows = k.data == v.data;  // MLA: V is part of the K row
  const int64_t n_g = g1 - g0, n_items = n_g * ((end - first + kKvBlock - 1) / kKvBlock);
  for (int64_t g = g0; g < g1; ++g) {
    prepare_q(G, q + g * G.group * G.dk, qx + (g - g0) * qxs);
    reset_state(G, partial + (c * p.n_head_kv + g) * G.ss);
  }
  // Item i: block first + (i / n_g) * kKvBlock of head g0 + i % n_g.
  auto head = [&](int64_t i) { return g0 + i % n_g; };
  auto start = [&](int64_t i) { return first + i / n_g * kKvBlock; };
  auto rows = [&](int64_t i) { return std::min<int64_t>(kKvBlock, end - start(i)); };
  for (int64_t i = 0; i < n_items; ++i) {
    const int64_t g = head(i);
    Block blk = load_block(G, k, v, g, start(i), rows(i), kf, vf, false);
    if (i + 1 < n_items) {
      const int64_t pi = i + 1;
      const Block pk = attn_raw_values(k, head(pi), start(pi)), pv = attn_raw_values(v, head(pi), start(pi));
      blk.pf_k = pk.v;
      blk.pf_k_row_bytes = pk.v_row_bytes;
      blk.pf_k_lines = static_cast<int64_t>((k.bytes_at(G.dk) + 63) / 64);
      blk.pf_v = same_rows ? nullptr : pv.v;
      blk.pf_v_row_bytes = pv.v_row_bytes;
      blk.pf_rows = rows(pi);
    }
    block_update(G, qx + (g - g0) * qxs, blk, rows(i), partial + (c * p.n_head_kv + g) * G.ss, sbuf);
  }
}

inline void decode_merge_impl(const AttentionParams& p, const float* partial, int64_t n_chunks, int64_t g0, int64_t g1,
                              float* out, float* scratch) {
  const AttnGeo G(p);
  Carve cv(scratch);
  float* R = cv.take(G.ss);
  for (int64_t g = g0; g < g1; ++g) {
    for (int64_t c = 0; c < n_chunks; ++c) merge_state(G, R, partial + (c * p.n_head_kv + g) * G.ss, c == 0);
    finish_state(G, R, out + g * G.group * G.dv);
  }
}

}  // namespace strata::STRATA_ATTN_NS

namespace strata::STRATA_ATTN_NS {

size_t prefill_scratch_floats(const AttentionParams& p, int64_t nq) { return prefill_floats(AttnGeo(p), nq); }
void prefill_task(const AttentionParams& p, const Mat& q, const int32_t* pos, const KvSpan& k, const KvSpan& v,
                  const Mat& out, int64_t g, int64_t t0, int64_t t1, float* scratch) {
  prefill(p, q, pos, k, v, out, g, t0, t1, scratch);
}
size_t state_floats(const AttentionParams& p) { return static_cast<size_t>(AttnGeo(p).ss); }
size_t decode_scratch_floats(const AttentionParams& p, int64_t n_kv_heads) {
  const AttnGeo G(p);
  return std::max(decode_floats(G, n_kv_heads), static_cast<size_t>(16 + AttnGeo::pad16(G.ss)));
}
void decode_chunk(const AttentionParams& p, const float* q, int32_t pos, const KvSpan& k, const KvSpan& v, int64_t g0,
                  int64_t g1, int64_t c, float* partial, float* scratch) {
  decode_chunk_impl(p, q, pos, k, v, g0, g1, c, partial, scratch);
}
void decode_merge(const AttentionParams& p, const float* partial, int64_t n_chunks, int64_t g0, int64_t g1, float* out,
                  float* scratch) {
  decode_merge_impl(p, partial, n_chunks, g0, g1, out, scratch);
}

}  // namespace strata::STRATA_ATTN_NS
