// The per-level entry points of the tiled attention (attention_impl.inl compiled per instruction set:
// attention.cpp the baseline, attention_avx2.cpp, attention_avx512.cpp), and the blocking constants every
// level shares. attention() in attention.cpp picks the level from the kernel table.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ops/attention.h"

namespace strata {

// Keys are converted and scored in blocks of kAttnKvBlock absolute positions. Every query restarts its
// online softmax at each multiple of kAttnChunk positions and merges the chunk states in order, so a
// decoded token can split its keys over threads (one task per chunk) with the same arithmetic a prompt
// batch uses: results stay bit-identical between batch and token-by-token evaluation.
inline constexpr int64_t kAttnKvBlock = 32;
inline constexpr int64_t kAttnChunk = 256;
static_assert(kAttnChunk % kAttnKvBlock == 0);

// Shapes of one KV head's work. Head widths are padded to multiples of 16 floats (zeros) in the
// converted K/V blocks and the accumulators, so vector kernels have no column tails. A softmax state
// (one query, the `group` heads of one KV head) is m[gp], l[gp], acc[group][dvp].
struct AttnGeo {
  int64_t group, dk, dv, dkp, dvp, gp, ss;
  float scale;
  explicit AttnGeo(const AttentionParams& p)
      : group(p.n_head / p.n_head_kv), dk(p.dk), dv(p.dv), dkp(pad16(p.dk)), dvp(pad16(p.dv)), gp(pad16(group)),
        ss(2 * gp + group * dvp), scale(p.scale) {}
  static int64_t pad16(int64_t n) { return (n + 15) / 16 * 16; }
  float* m(float* st) const { return st; }
  float* l(float* st) const { return st + gp; }
  float* acc(float* st) const { return st + 2 * gp; }
  const float* m(const float* st) const { return st; }
  const float* l(const float* st) const { return st + gp; }
  const float* acc(const float* st) const { return st + 2 * gp; }
};

// One block of keys/values as a level's block_update sees it: converted keys (rows of dkp floats),
// converted values (rows of dvp floats) where the level converted them, and the value rows as the
// kernel should read them (element 0 of the head at the block's first position; the cache itself, or
// vf as F32 rows of dvp floats).
struct AttnBlock {
  const float* kf = nullptr;
  const float* vf = nullptr;
  const uint8_t* v = nullptr;
  uint64_t v_row_bytes = 0;
  TensorType v_type = TensorType::F16;  // of the rows at v
  // The cache rows of the block computed next (pf_rows 0: none), for kernels that prefetch them into L1
  // while they compute this one: keys from pf_k (pf_k_lines cache lines per row), values from pf_v
  // (null when they are part of the key rows).
  const uint8_t* pf_k = nullptr;
  const uint8_t* pf_v = nullptr;
  uint64_t pf_k_row_bytes = 0;
  uint64_t pf_v_row_bytes = 0;
  int64_t pf_k_lines = 0;
  int64_t pf_rows = 0;
};

inline AttnBlock attn_raw_values(const KvSpan& v, int64_t g, int64_t b0) {
  AttnBlock b;
  b.v = v.data + static_cast<uint64_t>(b0) * v.row_bytes + v.bytes_at(v.offset + g * v.head_stride);
  b.v_row_bytes = v.row_bytes;
  b.v_type = v.type;
  return b;
}

#define STRATA_DECLARE_ATTN_LEVEL(ns)                                                                     \
  namespace ns {                                                                                         \
  /* One KV head g and the queries [t0, t1) of every query head that reads it (any batch). */           \
  size_t prefill_scratch_floats(const AttentionParams& p, int64_t nq);                                   \
  void prefill_task(const AttentionParams& p, const Mat& q, const int32_t* pos, const KvSpan& k,         \
                    const KvSpan& v, const Mat& out, int64_t g, int64_t t0, int64_t t1, float* scratch); \
  /* One query (q: its row) at position pos, split by chunk: decode_chunk writes the softmax state of */ \
  /* chunk c for KV heads [g0, g1) to partial[(c * n_head_kv + g) * state_floats]; decode_merge merges */ \
  /* the chunk states of heads [g0, g1) in chunk order and writes the output row. */                     \
  size_t state_floats(const AttentionParams& p);                                                          \
  size_t decode_scratch_floats(const AttentionParams& p, int64_t n_kv_heads);                             \
  void decode_chunk(const AttentionParams& p, const float* q, int32_t pos, const KvSpan& k, const KvSpan& v, \
                    int64_t g0, int64_t g1, int64_t c, float* partial, float* scratch);                   \
  void decode_merge(const AttentionParams& p, const float* partial, int64_t n_chunks, int64_t g0, int64_t g1, \
                    float* out, float* scratch);                                                          \
  }

STRATA_DECLARE_ATTN_LEVEL(attn_ref)
STRATA_DECLARE_ATTN_LEVEL(attn_avx2)
STRATA_DECLARE_ATTN_LEVEL(attn_avx512)

#undef STRATA_DECLARE_ATTN_LEVEL

}  // namespace strata
