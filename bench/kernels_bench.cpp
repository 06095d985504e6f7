// SIMD kernel microbenchmarks (src/cpu) per weight type, ISA level and shape class, single thread:
//   kernels/stream_read          STREAM-like read of a 1 GiB buffer: the bandwidth ceiling for decode
//   kernels/decode/T/isa/RxC     matrix-vector, weights streamed from DRAM (a rotating set of weight copies
//                                totalling 1 GiB, ~4x this machine's 260 MB L3, so no pass hits in cache)
//   kernels/prefill/T/isa/RxTxC  one mat_tile call of R rows x T tokens x C columns (weights and activations
//                                cached): compute-bound; reports multiply-accumulates per second. 16x64x7168
//                                is the historical tile; 85x512x2048 is what the engine passes for a 2048-column
//                                Q4_K matrix at pp512 (a ~96 KiB row block, every token), 85x32x2048 and
//                                85x8x2048 an MoE expert's share of a 512- or 128-token batch
//   kernels/prefill_dram/...     the expert shapes with the weights read from DRAM on every call
//   kernels/quantize_act/T/isa   activation quantization of one 7168-float row
// Bytes/s counts weight bytes only (what decode streams). docs/performance.md records the numbers.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/kernels.h"
#include "quant/convert.h"
#include "quant/types.h"

namespace {

using strata::TensorType;
using strata::TypeTraits;
namespace cpu = strata::cpu;

constexpr size_t kArenaBytes = size_t{1} << 30;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// One arena for every DRAM-streaming benchmark (allocating 1 GiB per benchmark would dominate the run).
uint8_t* arena() {
  static std::unique_ptr<uint8_t, FreeDeleter> p(static_cast<uint8_t*>(std::aligned_alloc(64, kArenaBytes)));
  return p.get();
}

std::vector<float> bench_floats(uint64_t seed, int64_t n) {
  std::vector<float> v(n);
  uint64_t s = seed;
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<int64_t>(s >> 11) % 2000001 - 1000000) * 1e-6f;
  }
  return v;
}

// Eight independent accumulators so the loop is bound by memory, not by a dependency chain.
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, size_t bytes) {
  __m256i a[8];
  for (auto& x : a) x = _mm256_setzero_si256();
  for (size_t i = 0; i + 256 <= bytes; i += 256)
    for (int k = 0; k < 8; ++k)
      a[k] = _mm256_xor_si256(a[k], _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32 * k)));
  for (int k = 1; k < 8; ++k) a[0] = _mm256_xor_si256(a[0], a[k]);
  return static_cast<uint64_t>(_mm256_extract_epi64(a[0], 0) ^ _mm256_extract_epi64(a[0], 3));
}

void BM_StreamRead(benchmark::State& state) {
  uint8_t* p = arena();
  std::memset(p, 1, kArenaBytes);  // fault every page in before timing
  for (auto _ : state) benchmark::DoNotOptimize(read_avx2(p, kArenaBytes));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(kArenaBytes));
}

// A rows x cols matrix of `type`, built from 16 quantized random rows (quantizing millions of K-quant
// elements with the reference quantizer would take seconds; decode speed does not depend on the values).
std::vector<uint8_t> make_matrix(const TypeTraits& t, int64_t rows, int64_t cols) {
  const uint64_t rb = strata::row_bytes(t, cols);
  std::vector<uint8_t> m(rb * rows);
  const int64_t distinct = std::min<int64_t>(rows, 16);
  for (int64_t r = 0; r < distinct; ++r) {
    const auto f = bench_floats(100 + r, cols);
    strata::quantize_row(t, f.data(), m.data() + r * rb, cols);
  }
  for (int64_t r = distinct; r < rows; ++r) std::memcpy(m.data() + r * rb, m.data() + (r % distinct) * rb, rb);
  return m;
}

// resident: one copy of the matrix, small enough to stay in L2, so the rate is the kernel's own ceiling.
void BM_Decode(benchmark::State& state, TensorType type, cpu::IsaLevel level, int64_t rows, int64_t cols,
               bool resident) {
  const cpu::KernelTable& table = cpu::select_kernels(level);
  const cpu::TypeKernels& k = table[type];
  const TypeTraits& t = strata::type_traits(type);
  const auto m = make_matrix(t, rows, cols);
  const size_t mbytes = m.size();
  const size_t copies = resident ? 1 : std::max<size_t>(1, kArenaBytes / mbytes);
  uint8_t* p = arena();
  for (size_t c = 0; c < copies; ++c) std::memcpy(p + c * mbytes, m.data(), mbytes);

  const auto x = bench_floats(7, cols);
  std::vector<uint8_t> a(strata::row_bytes(strata::type_traits(k.act_type), cols));
  k.quantize_activations(x.data(), a.data(), cols);
  std::vector<float> y(rows);
  const uint64_t rb = strata::row_bytes(t, cols);
  size_t c = 0;
  for (auto _ : state) {
    k.mat_tile(p + c * mbytes, rb, rows, a.data(), a.size(), 1, cols, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
    c = c + 1 == copies ? 0 : c + 1;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(mbytes));
}

// `stream`: the weights rotate through copies filling the 1 GiB arena, so every call reads its row block
// from DRAM as the engine's prefill does (each block is used by one call); otherwise they stay cached.
void BM_Prefill(benchmark::State& state, TensorType type, cpu::IsaLevel level, int64_t kRows, int64_t kTokens,
                int64_t kCols, bool stream) {
  const cpu::KernelTable& table = cpu::select_kernels(level);
  const cpu::TypeKernels& k = table[type];
  const TypeTraits& t = strata::type_traits(type);
  const auto m = make_matrix(t, kRows, kCols);
  const size_t mbytes = m.size();
  const size_t copies = stream ? std::max<size_t>(1, kArenaBytes / mbytes) : 1;
  const uint8_t* w = m.data();
  if (stream) {
    uint8_t* p = arena();
    for (size_t c = 0; c < copies; ++c) std::memcpy(p + c * mbytes, m.data(), mbytes);
    w = p;
  }
  const TypeTraits& at = strata::type_traits(k.act_type);
  const uint64_t arow = strata::row_bytes(at, kCols);
  std::vector<uint8_t> a(arow * kTokens);
  for (int64_t i = 0; i < kTokens; ++i) {
    const auto x = bench_floats(1000 + i, kCols);
    k.quantize_activations(x.data(), a.data() + i * arow, kCols);
  }
  std::vector<float> y(kRows * kTokens);
  size_t c = 0;
  for (auto _ : state) {
    k.mat_tile(w + c * mbytes, strata::row_bytes(t, kCols), kRows, a.data(), arow, kTokens, kCols, y.data(), kRows);
    benchmark::DoNotOptimize(y.data());
    c = c + 1 == copies ? 0 : c + 1;
  }
  const double macs = static_cast<double>(kRows * kTokens * kCols);
  state.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_QuantizeAct(benchmark::State& state, TensorType type, cpu::IsaLevel level) {
  constexpr int64_t kCols = 7168;
  const cpu::TypeKernels& k = cpu::select_kernels(level)[type];
  const auto x = bench_floats(3, kCols);
  std::vector<uint8_t> a(strata::row_bytes(strata::type_traits(k.act_type), kCols));
  for (auto _ : state) {
    k.quantize_activations(x.data(), a.data(), kCols);
    benchmark::DoNotOptimize(a.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kCols * 4);
}

const TensorType kTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0,
                             TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0,
                             TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K,
                             TensorType::Q6_K, TensorType::IQ4_NL, TensorType::IQ4_XS};

int register_all() {
  const cpu::CpuFeatures f = cpu::detect_cpu_features();
  if (f.avx2) benchmark::RegisterBenchmark("kernels/stream_read", BM_StreamRead)->Unit(benchmark::kMillisecond);
  for (cpu::IsaLevel level : {cpu::IsaLevel::Scalar, cpu::IsaLevel::Avx2, cpu::IsaLevel::Avx512}) {
    if (!f.supports(level)) continue;
    const std::string isa = cpu::isa_name(level);
    for (TensorType type : kTypes) {
      const std::string tn = strata::type_traits(type).name;
      for (auto [rows, cols] : {std::pair<int64_t, int64_t>{2048, 7168}, {4096, 1024}})
        benchmark::RegisterBenchmark(
            ("kernels/decode/" + tn + "/" + isa + "/" + std::to_string(rows) + "x" + std::to_string(cols)).c_str(),
            BM_Decode, type, level, rows, cols, false)
            ->Unit(benchmark::kMicrosecond);
      for (auto [rows, cols] : {std::pair<int64_t, int64_t>{64, 2048}, {8, 16384}})
        benchmark::RegisterBenchmark(
            ("kernels/decode_l2/" + tn + "/" + isa + "/" + std::to_string(rows) + "x" + std::to_string(cols)).c_str(),
            BM_Decode, type, level, rows, cols, true)
            ->Unit(benchmark::kMicrosecond);
      for (auto [rows, tokens, cols] : {std::tuple<int64_t, int64_t, int64_t>{16, 64, 7168}, {85, 512, 2048},
                                        {85, 32, 2048}, {85, 8, 2048}})
        for (bool stream : {false, true}) {
          if (stream && (rows != 85 || tokens == 512)) continue;  // DRAM-fed copies of the expert shapes only
          benchmark::RegisterBenchmark(("kernels/prefill" + std::string(stream ? "_dram/" : "/") + tn + "/" + isa +
                                        "/" + std::to_string(rows) + "x" + std::to_string(tokens) + "x" +
                                        std::to_string(cols))
                                           .c_str(),
                                       BM_Prefill, type, level, rows, tokens, cols, stream)
              ->Unit(benchmark::kMicrosecond);
        }
    }
    for (TensorType type : {TensorType::Q8_0, TensorType::Q4_1, TensorType::Q4_K})
      benchmark::RegisterBenchmark(
          ("kernels/quantize_act/" + std::string(strata::type_traits(type).name) + "/" + isa).c_str(),
          BM_QuantizeAct, type, level);
  }
  return 0;
}

// Registration must happen before benchmark_main parses the filter; a namespace-scope initializer does that.
const int registered = register_all();

}  // namespace
