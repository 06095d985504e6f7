// Causal scaled-dot-product attention of a batch of queries against a KV cache, with grouped-query
// heads. The queries' own K/V rows must already be in the cache (so a prompt batch and a single
// decoded token go through the same code, and an F16 cache rounds the current token's K/V exactly
// as it rounds older ones).
#pragma once

#include <cstdint>

#include "cpu/kernels.h"
#include "ops/kv_cache.h"
#include "ops/tensor.h"
#include "ops/thread_pool.h"

namespace strata {

struct AttentionParams {
  int64_t n_head = 0;
  int64_t n_head_kv = 0;  // query head h reads KV head h / (n_head / n_head_kv)
  int64_t dk = 0;         // query/key head width
  int64_t dv = 0;         // value head width
  float scale = 1.0f;     // multiplies q.k
};

// q: [n_tok x n_head*dk] (head h at h*dk); pos[t]: position of query t, which sees keys 0..pos[t];
// out: [n_tok x n_head*dv].
//
// Flash-style: each KV head's keys and values are read in blocks of 32 positions that every query (and
// every query head of the group) reuses, with an online softmax that restarts every 256 positions
// (chunks, merged in order), so memory stays O(block) however long the prompt and each cache byte is
// read once per query block. A single query (decode) splits its chunks over the pool's threads. kernels
// selects the build of the loops: AVX-512 (level avx512), AVX2 (avx2), else the baseline. A query's
// result is bit-identical whichever batch it is evaluated in, at any thread count.
void attention(ThreadPool& pool, const AttentionParams& p, const Mat& q, const int32_t* pos,
               const KvSpan& k, const KvSpan& v, const Mat& out, const cpu::KernelTable* kernels = nullptr);

}  // namespace strata
