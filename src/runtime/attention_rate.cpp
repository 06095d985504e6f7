#include "runtime/attention_rate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "ops/attention.h"
#include "tiers/stream.h"
#include "util/fp16.h"
#include "util/huge_buffer.h"

namespace strata {

AttentionShape attention_shape(const HParams& hp) {
  AttentionShape s;
  s.n_head = hp.n_head;
  if (hp.absorbed_mla()) {
    s.mla = true;
    s.n_head_kv = 1;
    s.dk = hp.kv_lora_rank + hp.n_rot;
    s.dv = hp.kv_lora_rank;
    return s;
  }
  const int64_t hd = hp.n_head ? hp.n_embd / hp.n_head : 0;
  s.n_head_kv = hp.n_head_kv ? hp.n_head_kv : hp.n_head;
  s.dk = hp.head_dim_k ? hp.head_dim_k : hd;
  s.dv = hp.head_dim_v ? hp.head_dim_v : hd;
  return s;
}

double measure_attention_rate(ComputeContext& compute, const AttentionShape& s, uint64_t buffer_bytes) {
  if (s.n_head <= 0 || s.n_head_kv <= 0 || s.dk <= 0 || s.dv <= 0 || s.n_head % s.n_head_kv != 0) return 0;
  AttentionParams ap{s.n_head, s.n_head_kv, s.dk, s.dv, 1.0f / std::sqrt(static_cast<float>(s.dk))};
  const int64_t P = kAttentionRatePositions;
  const uint64_t k_row = static_cast<uint64_t>(s.n_head_kv * s.dk) * 2;
  const uint64_t v_row = s.mla ? 0 : static_cast<uint64_t>(s.n_head_kv * s.dv) * 2;
  const uint64_t layer_bytes = (k_row + v_row) * static_cast<uint64_t>(P);
  if (buffer_bytes == 0) buffer_bytes = std::max<uint64_t>(1ull << 30, 4 * last_level_cache_bytes());
  const int64_t n_layers = static_cast<int64_t>(std::max<uint64_t>(2, buffer_bytes / layer_bytes));
  HugeBuffer kv(layer_bytes * static_cast<uint64_t>(n_layers));
  ThreadPool& pool = compute.pool();
  // Values of a trained cache's magnitude; the exact numbers do not change the work.
  pool.run(n_layers, [&](int64_t l, int) {
    auto* h = reinterpret_cast<uint16_t*>(kv.data() + l * layer_bytes);
    uint32_t x = static_cast<uint32_t>(l) * 2654435761u + 1;
    for (uint64_t i = 0; i < layer_bytes / 2; ++i) {
      x = x * 1664525u + 1013904223u;
      h[i] = fp32_to_fp16(static_cast<float>(static_cast<int32_t>(x) >> 8) * (1.0f / 8388608.0f));
    }
  });
  std::vector<float> q(static_cast<size_t>(s.n_head * s.dk)), out(static_cast<size_t>(s.n_head * s.dv));
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.37f * static_cast<float>(i));
  const int32_t pos = static_cast<int32_t>(P - 1);
  auto pass = [&] {
    for (int64_t l = 0; l < n_layers; ++l) {
      const uint8_t* base = kv.data() + l * layer_bytes;
      const KvSpan k{TensorType::F16, base, k_row, 0, s.mla ? 0 : s.dk};
      const KvSpan v = s.mla ? k : KvSpan{TensorType::F16, base + k_row * P, v_row, 0, s.dv};
      attention(pool, ap, mat(q.data(), 1, s.n_head * s.dk), &pos, k, v, mat(out.data(), 1, s.n_head * s.dv),
                &compute.kernels());
    }
  };
  pass();  // first touch of the scratch buffers
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(s.n_head * (s.dk + s.dv)) * P * n_layers / sec);
  }
  return best;
}

void add_attention_rates(MachineProfile& p, bool quick) {
  ComputeOptions co;
  co.threads = static_cast<int>(p.cpu.threads);
  ComputeContext compute(co);
  const uint64_t buffer = quick ? std::max<uint64_t>(512ull << 20, 2 * last_level_cache_bytes()) : 0;
  p.cpu.attention_macs_per_s = measure_attention_rate(compute, kGqaReferenceShape, buffer);
  p.cpu.mla_attention_macs_per_s = measure_attention_rate(compute, kMlaReferenceShape, buffer);
  char b[256];
  std::snprintf(b, sizeof b,
                "decode attention, %lld F16 positions from DRAM (%s): %.1f GMAC/s grouped-query (32 heads over "
                "4 KV heads of 128), %.1f GMAC/s MLA (64 heads over a 576-wide latent row)",
                static_cast<long long>(kAttentionRatePositions), compute.describe().c_str(),
                p.cpu.attention_macs_per_s * 1e-9, p.cpu.mla_attention_macs_per_s * 1e-9);
  p.notes.push_back(b);
}

}  // namespace strata
