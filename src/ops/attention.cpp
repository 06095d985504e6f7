#include "ops/attention.h"

#include <algorithm>
#include <atomic>
#include <new>
#include <cmath>
#include <cstring>
#include <string>

#include "ops/attention_levels.h"
#include "ops/matmul.h"
#include "quant/legacy.h"
#include "util/error.h"
#include "util/fp16.h"

namespace strata::attn_ref {
namespace {

inline float exp_f(float x) { return std::exp(x); }
inline void exp_shifted(float* x, int64_t n, float m) {
  for (int64_t j = 0; j < n; ++j) x[j] = std::exp(x[j] - m);
}

// s[j] = q . K_j for the n key rows of a block (rows of dk floats).
inline void block_scores(const float* q, const float* kb, int64_t n, int64_t dk, float* s) {
  for (int64_t j = 0; j < n; ++j) s[j] = dot_f32(q, kb + j * dk, dk);
}
// acc += sum_j p[j] * V_j (rows of dv floats).
inline void block_pv(const float* p, int64_t n, const float* vb, int64_t dv, float* acc) {
  for (int64_t j = 0; j < n; ++j) {
    const float w = p[j];
    const float* vr = vb + j * dv;
    for (int64_t c = 0; c < dv; ++c) acc[c] += w * vr[c];
  }
}

void f16_row(const uint8_t* row, int64_t offset, float* dst, int64_t n) {
  const auto* h = reinterpret_cast<const uint16_t*>(row) + offset;
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}

void f32_row(const uint8_t* row, int64_t offset, float* dst, int64_t n) {
  std::memcpy(dst, reinterpret_cast<const float*>(row) + offset, static_cast<size_t>(n) * sizeof(float));
}

void q8_0_row(const uint8_t* row, int64_t offset, float* dst, int64_t n) {
  quant::dequantize_q8_0(row + KvSpan::kv_bytes(TensorType::Q8_0, offset), dst, n);
}

}  // namespace
}  // namespace strata::attn_ref

#define STRATA_ATTN_PER_HEAD
#define STRATA_ATTN_NS attn_ref
#include "ops/attention_impl.inl"
#undef STRATA_ATTN_NS
#undef STRATA_ATTN_PER_HEAD

namespace strata {
namespace {

// One level's entry points.
struct Level {
  decltype(&attn_ref::prefill_scratch_floats) prefill_scratch_floats;
  decltype(&attn_ref::prefill_task) prefill_task;
  decltype(&attn_ref::state_floats) state_floats;
  decltype(&attn_ref::decode_scratch_floats) decode_scratch_floats;
  decltype(&attn_ref::decode_chunk) decode_chunk;
  decltype(&attn_ref::decode_merge) decode_merge;
};
#define STRATA_ATTN_LEVEL(ns) \
  Level {                                                                                                 \
    ns::prefill_scratch_floats, ns::prefill_task, ns::state_floats, ns::decode_scratch_floats,          \
        ns::decode_chunk, ns::decode_merge                                                              \
  }
constexpr Level kRef = STRATA_ATTN_LEVEL(attn_ref);
constexpr Level kAvx2 = STRATA_ATTN_LEVEL(attn_avx2);
constexpr Level kAvx512 = STRATA_ATTN_LEVEL(attn_avx512);
#undef STRATA_ATTN_LEVEL

const Level& select_level(const cpu::KernelTable* kernels) {
  const int l = kernels ? static_cast<int>(kernels->level) : -1;
  if (l >= static_cast<int>(cpu::IsaLevel::Avx512)) return kAvx512;
  if (l >= static_cast<int>(cpu::IsaLevel::Avx2)) return kAvx2;
  return kRef;
}

// A decoded token: its keys split by chunk (and, while chunks are fewer than the threads can share, by
// ranges of KV heads), so every thread streams its own contiguous range of cache rows however few KV
// heads there are; the last task to finish a head range merges that range's chunk states in order.
// The shared buffer (pool shared slot kPartialSlot) holds the chunk states, then one counter per range.
constexpr int kPartialSlot = 3;

void decode(ThreadPool& pool, const Level& L, const AttentionParams& p, const float* q, int32_t pos, const KvSpan& k,
            const KvSpan& v, float* out) {
  const int64_t n_chunks = int64_t{pos} / kAttnChunk + 1;
  int64_t n_ranges = 1;
  while (n_ranges < p.n_head_kv && n_chunks * n_ranges < 2 * pool.size()) ++n_ranges;
  const size_t ss = L.state_floats(p);
  const size_t state_bytes = static_cast<size_t>(n_chunks * p.n_head_kv) * ss * sizeof(float);
  const size_t counters_at = (state_bytes + 63) / 64 * 64;
  uint8_t* shared = pool.shared_scratch(counters_at + static_cast<size_t>(n_ranges) * 64, kPartialSlot);
  float* partial = reinterpret_cast<float*>(shared);
  auto* done = reinterpret_cast<std::atomic<int64_t>*>(shared + counters_at);
  for (int64_t r = 0; r < n_ranges; ++r) new (&done[r * 8]) std::atomic<int64_t>(0);
  const size_t need = L.decode_scratch_floats(p, (p.n_head_kv + n_ranges - 1) / n_ranges);
  pool.run(n_chunks * n_ranges, [&](int64_t task, int thread) {
    const int64_t c = task / n_ranges, r = task % n_ranges;
    const int64_t g0 = r * p.n_head_kv / n_ranges, g1 = (r + 1) * p.n_head_kv / n_ranges;
    float* scratch = pool.scratch(thread, 1, need);
    L.decode_chunk(p, q, pos, k, v, g0, g1, c, partial, scratch);
    if (done[r * 8].fetch_add(1, std::memory_order_acq_rel) + 1 == n_chunks)
      L.decode_merge(p, partial, n_chunks, g0, g1, out, scratch);
  });
}

}  // namespace

void attention(ThreadPool& pool, const AttentionParams& p, const Mat& q, const int32_t* pos, const KvSpan& k,
               const KvSpan& v, const Mat& out, const cpu::KernelTable* kernels) {
  if (p.n_head_kv <= 0 || p.n_head % p.n_head_kv != 0)
    throw Error("attention: n_head " + std::to_string(p.n_head) + " is not a multiple of n_head_kv " +
                std::to_string(p.n_head_kv));
  if (q.cols < p.n_head * p.dk || out.cols < p.n_head * p.dv || out.rows != q.rows)
    throw Error("attention: q/out shapes do not match the head layout");
  if (!is_kv_type(k.type) || !is_kv_type(v.type))
    throw UnsupportedError("attention: the KV cache must be F16, F32 or Q8_0");
  if (k.type == TensorType::Q8_0 || v.type == TensorType::Q8_0) {
    // Heads are read block by block: each must start on a block edge and span whole blocks.
    auto blocks = [](int64_t n) { return n % 32 == 0; };
    if (!blocks(p.dk) || !blocks(p.dv) || !blocks(k.offset) || !blocks(k.head_stride) || !blocks(v.offset) ||
        !blocks(v.head_stride))
      throw UnsupportedError("attention: a Q8_0 KV cache needs heads of whole 32-value blocks (dk " +
                             std::to_string(p.dk) + ", dv " + std::to_string(p.dv) + "); use f16");
  }
  if (q.rows == 0) return;
  for (int64_t t = 0; t < q.rows; ++t)
    if (pos[t] < 0) throw Error("attention: negative position " + std::to_string(pos[t]));
  const Level& L = select_level(kernels);
  if (q.rows == 1) {
    decode(pool, L, p, q.row(0), pos[0], k, v, out.row(0));
    return;
  }
  const int64_t group = p.n_head / p.n_head_kv;
  // Query blocks: enough queries share each converted K/V block to amortise the conversion, few enough
  // that their softmax state stays in L2.
  const int64_t qb = std::max<int64_t>(1, std::min<int64_t>(16, 128 / group));
  const int64_t n_qblocks = (q.rows + qb - 1) / qb;
  const size_t need = L.prefill_scratch_floats(p, qb);
  pool.run(p.n_head_kv * n_qblocks, [&](int64_t task, int thread) {
    // Later query blocks see more keys: hand them out first so the long tasks do not end up last.
    const int64_t qblock = n_qblocks - 1 - task / p.n_head_kv, g = task % p.n_head_kv;
    const int64_t t0 = qblock * qb, t1 = std::min(q.rows, t0 + qb);
    L.prefill_task(p, q, pos, k, v, out, g, t0, t1, pool.scratch(thread, 1, need));
  });
}

}  // namespace strata
