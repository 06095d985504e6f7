// Decode attention microbenchmarks: one query token at position `depth` (it sees depth + 1 keys) against
// an F16 KV cache, with the qwen3-30b-a3b shapes (32 query heads, 4 KV heads, head dim 128, scale
// 1/sqrt(128)):
//   attention/decode/ISA/depth:D/threads:T/cold   the cache of a different layer every iteration, layers
//                                                 totalling >= 512 MiB (twice this VM's share of L3 at
//                                                 least), so K/V come from DRAM as in a real token, where
//                                                 ~440 MB of weights stream between two layers
//   attention/decode/ISA/depth:D/threads:T/hot    the same layer every iteration (L2/L3-resident): the
//                                                 kernels' compute ceiling
//   attention/decode_mla/ISA/depth:D/threads:T    deepseek2-style absorbed MLA: 16 heads, 1 latent KV
//                                                 head, dk 576 / dv 512, V aliasing the K row (cold)
//   attention/decode_mla64/...                    the same with Kimi K2's 64 heads
//   attention/decode_q8_0(_hot)/...               attention/decode(_hot) over a Q8_0 cache
//   attention/prefill/ISA/tokens:N/threads:T      a prompt of N tokens at positions 0 .. N - 1 (causal;
//                                                 cache-resident): items/s = prompt tokens per second
// bytes/s counts the K and V bytes the token reads (depth + 1 rows of n_head_kv * (dk + dv) values);
// time per iteration is the attention time of one layer. docs/performance.md records the numbers.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/kernels.h"
#include "ops/attention.h"
#include "ops/kv_cache.h"
#include "ops/thread_pool.h"

namespace {

using namespace strata;

constexpr uint64_t kColdBytes = uint64_t{512} << 20;

struct Shape {
  int64_t n_head, n_head_kv, dk, dv;
  bool mla;  // V is the first dv elements of the (single) K row
};

constexpr Shape kQwen3{32, 4, 128, 128, false};
constexpr Shape kMla{16, 1, 576, 512, true};
constexpr Shape kMlaKimi{64, 1, 576, 512, true};

const cpu::KernelTable* table(int isa) {
  // 0: the baseline build (no table), 1: avx2, 2: avx512.
  if (isa == 0) return nullptr;
  const cpu::IsaLevel l = isa == 1 ? cpu::IsaLevel::Avx2 : cpu::IsaLevel::Avx512;
  if (!cpu::detect_cpu_features().supports(l)) return nullptr;
  return &cpu::select_kernels(l);
}

const char* isa_label(int isa) { return isa == 0 ? "baseline" : isa == 1 ? "avx2" : "avx512"; }

// A cache of `n_layers` layers of n_ctx positions filled with N(0, 1) values (rounded to the cache type).
std::unique_ptr<KvCache> make_cache(const Shape& s, int64_t n_ctx, int64_t n_layers,
                                    TensorType type = TensorType::F16) {
  std::vector<KvLayerLayout> layers(n_layers, KvLayerLayout{s.n_head_kv * s.dk, s.mla ? 0 : s.n_head_kv * s.dv});
  auto kv = std::make_unique<KvCache>(type, n_ctx, layers);
  // 256 distinct random rows, stored over and over (the values do not change the work done).
  const int64_t distinct = std::min<int64_t>(256, n_ctx);
  std::mt19937 g(7);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> kr(distinct * s.n_head_kv * s.dk), vr(distinct * s.n_head_kv * s.dv);
  for (auto& x : kr) x = d(g);
  for (auto& x : vr) x = d(g);
  for (int64_t l = 0; l < n_layers; ++l)
    for (int64_t p0 = 0; p0 < n_ctx; p0 += distinct) {
      const int64_t n = std::min(distinct, n_ctx - p0);
      kv->store_k(static_cast<int>(l), p0, mat(kr.data(), n, s.n_head_kv * s.dk));
      if (!s.mla) kv->store_v(static_cast<int>(l), p0, mat(vr.data(), n, s.n_head_kv * s.dv));
    }
  return kv;
}

void run_decode(benchmark::State& state, const Shape& s, bool cold, TensorType type = TensorType::F16) {
  const int isa = static_cast<int>(state.range(0));
  const int64_t depth = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  const cpu::KernelTable* k = table(isa);
  if (isa != 0 && !k) {
    state.SkipWithError("ISA level not supported on this CPU");
    return;
  }
  const int64_t n_ctx = depth + 1;
  // Bytes the kernel must read: the key rows, and the value rows (for MLA the latent already read as K).
  const uint64_t layer_bytes =
      static_cast<uint64_t>(n_ctx) * KvSpan::kv_bytes(type, s.n_head_kv * (s.dk + (s.mla ? 0 : s.dv)));
  const int64_t n_layers =
      cold ? std::max<int64_t>(2, static_cast<int64_t>((kColdBytes + layer_bytes - 1) / layer_bytes)) : 1;
  auto kv = make_cache(s, n_ctx, n_layers, type);
  ThreadPool pool(threads);
  std::mt19937 g(9);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> q(s.n_head * s.dk), out(s.n_head * s.dv);
  for (auto& x : q) x = d(g);
  const int32_t pos = static_cast<int32_t>(depth);
  const AttentionParams p{s.n_head, s.n_head_kv, s.dk, s.dv, 1.0f / std::sqrt(static_cast<float>(s.dk))};
  int64_t layer = 0;
  auto one = [&] {
    const int l = static_cast<int>(layer);
    const KvSpan ks = kv->k_span(l, 0, s.mla ? 0 : s.dk);
    const KvSpan vs = s.mla ? ks : kv->v_span(l, 0, s.dv);
    attention(pool, p, mat(q.data(), 1, s.n_head * s.dk), &pos, ks, vs, mat(out.data(), 1, s.n_head * s.dv), k);
    layer = (layer + 1) % n_layers;
  };
  for (int i = 0; i < 2; ++i) one();  // first-use scratch growth
  for (auto _ : state) {
    one();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * layer_bytes));
  state.SetLabel(std::string(isa_label(isa)) + (cold ? " cold" : " hot"));
}

void BM_Prefill(benchmark::State& state) {
  const Shape s = kQwen3;
  const int isa = static_cast<int>(state.range(0));
  const int64_t n = state.range(1);
  const int threads = static_cast<int>(state.range(2));
  const cpu::KernelTable* k = table(isa);
  if (isa != 0 && !k) {
    state.SkipWithError("ISA level not supported on this CPU");
    return;
  }
  auto kv = make_cache(s, n, 1);
  ThreadPool pool(threads);
  std::mt19937 g(9);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> q(n * s.n_head * s.dk), out(n * s.n_head * s.dv);
  for (auto& x : q) x = d(g);
  std::vector<int32_t> pos(n);
  for (int64_t t = 0; t < n; ++t) pos[t] = static_cast<int32_t>(t);
  const AttentionParams p{s.n_head, s.n_head_kv, s.dk, s.dv, 1.0f / std::sqrt(static_cast<float>(s.dk))};
  for (auto _ : state) {
    attention(pool, p, mat(q.data(), n, s.n_head * s.dk), pos.data(), kv->k_span(0, 0, s.dk), kv->v_span(0, 0, s.dv),
              mat(out.data(), n, s.n_head * s.dv), k);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.SetLabel(isa_label(isa));
}

void BM_DecodeCold(benchmark::State& state) { run_decode(state, kQwen3, true); }
void BM_DecodeHot(benchmark::State& state) { run_decode(state, kQwen3, false); }
void BM_DecodeMla(benchmark::State& state) { run_decode(state, kMla, true); }
void BM_DecodeMlaKimi(benchmark::State& state) { run_decode(state, kMlaKimi, true); }
void BM_DecodeQ8Cold(benchmark::State& state) { run_decode(state, kQwen3, true, TensorType::Q8_0); }
void BM_DecodeQ8Hot(benchmark::State& state) { run_decode(state, kQwen3, false, TensorType::Q8_0); }

void decode_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"isa", "depth", "threads"})->Unit(benchmark::kMicrosecond)->UseRealTime();
  for (int isa : {2, 1})
    for (int64_t depth : {128, 512, 4096, 16384})
      for (int t : {1, 2}) b->Args({isa, depth, t});
  b->Args({0, 4096, 2});
}

void q8_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"isa", "depth", "threads"})->Unit(benchmark::kMicrosecond)->UseRealTime();
  for (int isa : {2, 1})
    for (int64_t depth : {512, 4096})
      for (int t : {1, 2}) b->Args({isa, depth, t});
}

void mla_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"isa", "depth", "threads"})->Unit(benchmark::kMicrosecond)->UseRealTime();
  for (int isa : {2, 1}) b->Args({isa, 4096, 2});
}

}  // namespace

BENCHMARK(BM_DecodeCold)->Name("attention/decode")->Apply(decode_args);
BENCHMARK(BM_DecodeHot)->Name("attention/decode_hot")->Apply(decode_args);
BENCHMARK(BM_Prefill)
    ->Name("attention/prefill")
    ->ArgNames({"isa", "tokens", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Args({2, 512, 2})
    ->Args({1, 512, 2})
    ->Args({2, 2048, 2})
    ->Args({1, 2048, 2});
BENCHMARK(BM_DecodeMla)->Name("attention/decode_mla")->Apply(mla_args);
BENCHMARK(BM_DecodeMlaKimi)->Name("attention/decode_mla64")->Apply(mla_args);
BENCHMARK(BM_DecodeQ8Cold)->Name("attention/decode_q8_0")->Apply(q8_args);
BENCHMARK(BM_DecodeQ8Hot)->Name("attention/decode_q8_0_hot")->Apply(q8_args);
