// Token choice over a full vocabulary (qwen3's 151936 logits), once per decoded token: greedy (argmax)
// and the default sampling chain. The time is added to every token's, so compare it with a token's
// (~18 ms on the qwen3 slice).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "runtime/sampler.h"

namespace {

void BM_Argmax(benchmark::State& state) {
  std::vector<float> logits(static_cast<size_t>(state.range(0)));
  std::mt19937 g(1);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (auto& x : logits) x = d(g);
  for (auto _ : state) benchmark::DoNotOptimize(strata::argmax(logits));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * logits.size()));
}

// The default chain (llama.cpp's defaults: top-k 40, top-p 0.95, min-p 0.05, temperature 0.8).
void BM_SampleDefaults(benchmark::State& state) {
  std::vector<float> logits(static_cast<size_t>(state.range(0)));
  std::mt19937 g(1);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (auto& x : logits) x = d(g);
  strata::Sampler s(strata::SamplerParams{});
  for (auto _ : state) benchmark::DoNotOptimize(s.sample(logits, {}));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * logits.size()));
}

}  // namespace

BENCHMARK(BM_Argmax)->Name("sampler/argmax")->Arg(151936)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SampleDefaults)->Name("sampler/sample_defaults")->Arg(151936)->Unit(benchmark::kMicrosecond);
