#include "runtime/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <cstdio>
#include <fstream>
#include <span>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "plan/usage.h"
#include "quant/interleave.h"
#include "runtime/attention_rate.h"
#include "runtime/peak_int8.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "tiers/stream.h"
#include "util/error.h"

namespace strata {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

uint64_t mem_total_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  uint64_t kb = 0;
  while (f >> key >> kb >> unit)
    if (key == "MemTotal:") return kb * 1024;
  return 0;
}

// Faults every page of the mapping in before timing: a first touch costs a page fault per 4 KiB, which
// would be charged to whichever rep first selects an expert.
void warm_pages(ThreadPool& pool, const ModelCatalogue& cat) {
  std::atomic<uint64_t> sink{0};
  pool.run(static_cast<int64_t>(cat.entries.size()), [&](int64_t i, int) {
    const CatalogueEntry& e = cat.entries[i];
    if (!e.data) return;
    uint64_t s = 0;
    for (uint64_t off = 0; off < e.nbytes; off += 4096) s += e.data[off];
    sink.fetch_add(s, std::memory_order_relaxed);
  });
}

// Multiply-accumulates of the weight matrices for one prompt token (routed experts: n_expert_used of
// them); the lm head runs for the last prompt token only and is spread over the prompt.
double macs_per_prompt_token(const ModelCatalogue& cat, int64_t n_prompt) {
  double macs = 0;
  for (const CatalogueEntry& e : cat.entries) {
    if (!e.traits || e.n_dims < 2) continue;
    const double per = static_cast<double>(e.ne[0]) * static_cast<double>(e.ne[1]);
    switch (e.cls) {
      case TensorClass::Attention:
      case TensorClass::DenseFfn:
      case TensorClass::SharedExpert:
      case TensorClass::Router: macs += per * static_cast<double>(e.ne[2]) * static_cast<double>(e.ne[3]); break;
      case TensorClass::RoutedExperts: macs += per * cat.hp.n_expert_used; break;
      case TensorClass::Output: macs += per / static_cast<double>(std::max<int64_t>(1, n_prompt)); break;
      default: break;
    }
  }
  if (!cat.find(-1, "output.weight")) {  // tied embeddings: the lm head is token_embd
    if (const CatalogueEntry* e = cat.find(-1, "token_embd.weight"))
      macs += static_cast<double>(e->ne[0]) * static_cast<double>(e->ne[1]) / static_cast<double>(std::max<int64_t>(1, n_prompt));
  }
  return macs;
}

std::vector<int32_t> random_tokens(int64_t n, int64_t n_vocab, uint64_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : t) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x = static_cast<int32_t>(s % static_cast<uint64_t>(n_vocab));
  }
  return t;
}

// Best of 3 passes of every pool thread reading its own contiguous slice of a buffer far larger than
// the LLC with the STREAM read kernel.
double pool_read_bandwidth(ThreadPool& pool, uint64_t bytes) {
  if (bytes == 0) bytes = std::max<uint64_t>(1ull << 30, 4 * last_level_cache_bytes());
  const int64_t n = pool.size();
  const uint64_t slice = bytes / static_cast<uint64_t>(n) / 4096 * 4096;
  std::unique_ptr<uint8_t, void (*)(void*)> buf(static_cast<uint8_t*>(std::aligned_alloc(4096, slice * n)), std::free);
  if (!buf) return 0;
  // First touch by the thread that reads the slice (its NUMA node, if there are several).
  pool.run(n, [&](int64_t t, int) { std::memset(buf.get() + t * slice, 1, slice); });
  const StreamKernel k = best_stream_kernel();
  std::atomic<uint64_t> sink{0};
  double best = 0;
  for (int pass = 0; pass < 3; ++pass) {
    const auto t0 = clock_type::now();
    pool.run(n, [&](int64_t t, int) { sink.fetch_add(k.fn(buf.get() + t * slice, slice), std::memory_order_relaxed); });
    best = std::max(best, static_cast<double>(slice * n) / seconds_since(t0));
  }
  return best;
}

// Matvec rate of one matrix's kernel over an LLC-resident slice of it, all threads, in the layout the
// model holds it (interleaved when repacked).
double kernel_rate_on(ComputeContext& compute, const WeightView& v) {
  const cpu::TypeKernels& k = compute.kernels()[v.type->type];
  const int64_t n = v.cols();
  const uint64_t stride = v.row_stride();
  const size_t llc = last_level_cache_bytes();
  const uint64_t window = std::min<uint64_t>(v.nbytes, llc ? llc / 4 : (32u << 20));
  int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(window / stride));
  const int64_t unit = v.interleaved ? kInterleaveRows : 1;  // interleaved rows go in whole groups
  rows = std::max(unit, rows / unit * unit);
  const cpu::MatTileFn tile = v.interleaved ? k.mat_tile_i16 : k.mat_tile;
  if (!tile) return 0;
  const TypeTraits* act = find_type(static_cast<uint32_t>(k.act_type));
  if (!act) return 0;
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[i] = std::sin(0.1f * static_cast<float>(i));
  std::vector<uint8_t> xq(row_bytes(*act, n) + 64);
  k.quantize_activations(x.data(), xq.data(), n);
  std::vector<float> y(static_cast<size_t>(rows));
  ThreadPool& pool = compute.pool();
  const int64_t n_tasks = 4 * static_cast<int64_t>(pool.size());
  const int64_t chunk = ((rows + n_tasks - 1) / n_tasks + unit - 1) / unit * unit;
  auto pass = [&] {
    pool.run(n_tasks, [&](int64_t t, int) {
      const int64_t r0 = t * chunk, r1 = std::min(rows, r0 + chunk);
      if (r0 < r1) tile(v.data + r0 * stride, stride, r1 - r0, xq.data(), 0, 1, n, y.data() + r0, 0);
    });
  };
  pass();  // into the cache
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    int passes = 0;
    const auto t0 = clock_type::now();
    do {
      pass();
      ++passes;
    } while (seconds_since(t0) < 0.05);
    best = std::max(best, static_cast<double>(rows) * stride * passes / seconds_since(t0));
  }
  return best;
}

// The decode kernels' own ceiling for this model: per weight type, the matvec rate on its largest
// matrix, combined by the bytes of that type one token reads (time = sum bytes_t / rate_t).
double kernel_decode_rate(ComputeContext& compute, const Weights& w, std::string* types) {
  const ModelCatalogue& cat = w.catalogue();
  struct PerType {
    const CatalogueEntry* largest = nullptr;
    double bytes = 0;
  };
  std::vector<PerType> per(cpu::kTypeSlots);
  for (const CatalogueEntry& e : cat.entries) {
    if (!e.data || !e.traits || e.n_dims < 2 || e.cls == TensorClass::Embedding) continue;
    const auto t = static_cast<size_t>(e.traits->type);
    if (t >= per.size() || !compute.kernels().has(e.traits->type)) continue;
    per[t].bytes += e.is_expert_tensor() ? static_cast<double>(e.expert_bytes) * cat.hp.n_expert_used
                                         : static_cast<double>(e.nbytes);
    if (!per[t].largest || e.nbytes > per[t].largest->nbytes) per[t].largest = &e;
  }
  double bytes = 0, seconds = 0;
  for (const PerType& p : per) {
    if (!p.largest) continue;
    const TensorRef ref{static_cast<int32_t>(p.largest - cat.entries.data())};
    const double rate = kernel_rate_on(compute, w.view(ref));
    if (rate <= 0) continue;
    bytes += p.bytes;
    seconds += p.bytes / rate;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.1f GB/s", types->empty() ? "" : ", ", p.largest->traits->name, rate * 1e-9);
    *types += buf;
  }
  return seconds > 0 ? bytes / seconds : 0;
}

// Hand-off cost of one pool job with a trivial task per thread, best of a few batches.
double pool_job_seconds(ThreadPool& pool) {
  std::atomic<int> sink{0};
  double best = 1;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = clock_type::now();
    for (int i = 0; i < 2000; ++i) pool.run(pool.size(), [&](int64_t, int) { sink.fetch_add(1, std::memory_order_relaxed); });
    best = std::min(best, seconds_since(t0) / 2000);
  }
  return best;
}

}  // namespace

Stat make_stat(std::vector<double> values) {
  Stat s;
  s.values = values;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  s.min = values.front();
  s.max = values.back();
  s.median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  return s;
}

namespace {

// One depth's decode reps as they accumulate.
struct DepthAccum {
  std::vector<double> tok_s, achieved, stream, eff, change;
  UsageProfile usage;
  double routed_read = 0;
  int64_t decoded = 0;
};

}  // namespace

BenchResult run_bench(Model& model, ComputeContext& compute, const BenchOptions& opt) {
  if (opt.reps < 1) throw InputError("--reps must be >= 1");
  if (opt.n_prompt < 0 || opt.n_gen < 0) throw InputError("-p and -n must be >= 0");
  if (opt.depths.empty()) throw InputError("--depth needs at least one value");
  for (int64_t d : opt.depths)
    if (d < 0) throw InputError("--depth must be >= 0, got " + std::to_string(d));
  if (opt.n_prompt == 0 && opt.n_gen == 0) throw InputError("nothing to measure: -p and -n are both 0");
  const ModelCatalogue& cat = model.catalogue();
  const HParams& hp = model.hparams();
  ThreadPool& pool = compute.pool();
  const int64_t max_depth = *std::max_element(opt.depths.begin(), opt.depths.end());

  BenchResult r;
  r.model = model.name();
  r.arch = hp.arch;
  r.isa = cpu::isa_name(compute.level());
  r.threads = compute.threads();
  r.kv_type = type_name(static_cast<uint32_t>(opt.kv_type));
  r.n_prompt = opt.n_prompt;
  r.n_gen = opt.n_gen;
  r.reps = opt.reps;
  r.model_bytes = cat.total_bytes();
  r.catalogue_bytes_per_token = cat.bytes_per_token().total();

  SessionOptions so;
  so.n_ctx = std::max<int64_t>(opt.n_prompt, max_depth + opt.n_gen + 1);
  so.act_mode = opt.act_mode;
  so.kv_type = opt.kv_type;
  so.record_usage = true;
  Session session(model, compute, so);
  const int64_t n_vocab = session.n_vocab();
  const std::vector<int32_t> prompt = random_tokens(std::max<int64_t>({opt.n_prompt, max_depth, 1}), n_vocab, opt.seed);

  warm_pages(pool, cat);
  {
    // One untimed token: grows the workspaces and scratch buffers to their decode sizes.
    session.reset();
    session.eval(std::span<const int32_t>(prompt.data(), 1));
  }

  // Per-layer bytes of one expert's slices of every routed tensor.
  std::vector<double> expert_bytes(hp.n_layer, 0.0);
  for (const CatalogueEntry& e : cat.entries)
    if (e.is_expert_tensor() && e.layer >= 0 && e.layer < static_cast<int>(hp.n_layer))
      expert_bytes[e.layer] += static_cast<double>(e.expert_bytes);
  double routed_weight = 0;
  for (double b : expert_bytes) routed_weight += b;
  const double always_active = cat.bytes_per_token().always_active;
  const double kv_per_pos = static_cast<double>(session.kv().bytes()) / static_cast<double>(session.n_ctx());
  auto kv_bytes_at = [&](int64_t depth) {
    return kv_per_pos * (static_cast<double>(depth) + static_cast<double>(opt.n_gen + 1) / 2.0);
  };

  std::vector<double> pp, pp_macs;
  std::vector<DepthAccum> acc(opt.depths.size());
  for (DepthAccum& a : acc) a.usage = make_usage(hp.n_layer, hp.n_expert);
  const ExpertUsage* usage = session.usage();
  std::vector<uint64_t> before;
  const double macs_tok = macs_per_prompt_token(cat, opt.n_prompt);
  r.macs_per_prompt_token = macs_tok;

  StreamOptions sopt;
  sopt.bytes = opt.stream_bytes;
  sopt.threads = compute.threads();
  sopt.min_seconds = opt.stream_seconds;

  for (int rep = 0; rep < opt.reps; ++rep) {
    if (opt.n_prompt > 0) {
      session.reset();
      const auto t0 = clock_type::now();
      session.eval(std::span<const int32_t>(prompt.data(), static_cast<size_t>(opt.n_prompt)));
      const double s = seconds_since(t0);
      pp.push_back(static_cast<double>(opt.n_prompt) / s);
      pp_macs.push_back(macs_tok * static_cast<double>(opt.n_prompt) / s);
    }
    if (opt.n_gen == 0) continue;
    for (size_t di = 0; di < opt.depths.size(); ++di) {
      const int64_t depth = opt.depths[di];
      DepthAccum& a = acc[di];
      session.reset();
      int32_t tok = prompt[0];
      if (depth > 0) tok = argmax(session.eval(std::span<const int32_t>(prompt.data(), static_cast<size_t>(depth))));
      before.clear();
      if (usage)
        for (int l = 0; l < usage->n_layer(); ++l)
          for (int e = 0; e < usage->n_expert(); ++e) before.push_back(usage->count(l, e));
      const auto t0 = clock_type::now();
      for (int64_t i = 0; i < opt.n_gen; ++i) tok = argmax(session.eval(std::span<const int32_t>(&tok, 1)));
      const double tok_s = static_cast<double>(opt.n_gen) / seconds_since(t0);
      a.tok_s.push_back(tok_s);
      if (di > 0) a.change.push_back(tok_s / acc[0].tok_s.back() - 1);

      // Expert bytes actually read: every selection of a decoded token reads that expert's slices once.
      double rep_routed = 0;
      if (usage)
        for (int l = 0; l < usage->n_layer(); ++l)
          for (int e = 0; e < usage->n_expert(); ++e) {
            const uint64_t d = usage->count(l, e) - before[static_cast<size_t>(l) * usage->n_expert() + e];
            rep_routed += static_cast<double>(d) * expert_bytes[l];
            a.usage.counts[l][e] += d;
          }
      else
        rep_routed = routed_weight * static_cast<double>(opt.n_gen);  // dense model: every "expert" byte
      a.routed_read += rep_routed;
      a.decoded += opt.n_gen;
      const double bytes = always_active + rep_routed / static_cast<double>(opt.n_gen) + kv_bytes_at(depth);
      a.achieved.push_back(bytes * tok_s);
      const StreamResult sr = measure_memory_read(sopt);
      a.stream.push_back(sr.bytes_per_s);
      a.eff.push_back(bytes * tok_s / sr.bytes_per_s);
    }
  }
  r.prefill_tok_s = make_stat(pp);
  r.prefill_macs_per_s = make_stat(pp_macs);
  if (opt.n_gen > 0) {
    r.kernel_decode_bytes_per_s = kernel_decode_rate(compute, model.weights(), &r.kernel_decode_type);
    r.pool_job_seconds = pool_job_seconds(pool);
    r.pool_read_bytes_per_s = pool_read_bandwidth(pool, opt.stream_bytes);
    r.attention_macs_per_s = measure_attention_rate(compute, attention_shape(hp), opt.stream_bytes);
  }
  for (size_t di = 0; opt.n_gen > 0 && di < opt.depths.size(); ++di) {
    const DepthAccum& a = acc[di];
    DecodeRun d;
    d.depth = opt.depths[di];
    d.tok_s = make_stat(a.tok_s);
    d.achieved_bytes_per_s = make_stat(a.achieved);
    d.stream_bytes_per_s = make_stat(a.stream);
    d.efficiency = make_stat(a.eff);
    d.change_vs_first = make_stat(a.change);
    d.weight_bytes_per_token = always_active + a.routed_read / static_cast<double>(a.decoded);
    d.kv_bytes_per_token = kv_bytes_at(d.depth);
    d.bytes_per_token = d.weight_bytes_per_token + d.kv_bytes_per_token;

    // The planner's view of this run: one DRAM tier at the bandwidth just measured, a CPU whose decode
    // kernels consume at most the rate measured here, and the pool hand-offs of each layer.
    MachineProfile m;
    m.cpu.model = cpu::describe(compute.features());
    m.cpu.threads = static_cast<uint32_t>(compute.threads());
    m.cpu.cores = std::max(1u, std::thread::hardware_concurrency());
    TierSpec dram;
    dram.name = "dram0";
    dram.kind = TierKind::Dram;
    dram.capacity = std::max<uint64_t>(mem_total_bytes(), r.model_bytes * 2);
    dram.stream_bw = d.stream_bytes_per_s.median;
    dram.source = "measured by strata bench";
    m.tiers.push_back(dram);
    PlanOptions po;
    po.context = static_cast<uint32_t>(session.n_ctx());
    po.kv_type = opt.kv_type;
    po.kv_fill = std::min(1.0, (static_cast<double>(d.depth) + static_cast<double>(opt.n_gen) / 2.0) /
                                   static_cast<double>(session.n_ctx()));
    const bool have_usage = hp.n_expert > 0 && usage;
    try {
      d.predicted_memory_only_tok_s = make_plan(cat, m, have_usage ? &a.usage : nullptr, po).decode_tok_s;
      m.cpu.decode_bytes_per_s = r.kernel_decode_bytes_per_s;
      // A MoE layer's decode runs about 7 pool jobs (q/k/v, attention, output, router, gate+up, expert
      // activations, down); a dense layer about 6.
      m.cpu.per_layer_overhead_s = 7 * r.pool_job_seconds;
      (attention_shape(hp).mla ? m.cpu.mla_attention_macs_per_s : m.cpu.attention_macs_per_s) = r.attention_macs_per_s;
      d.predicted_decode_tok_s = make_plan(cat, m, have_usage ? &a.usage : nullptr, po).decode_tok_s;
    } catch (const InputError&) {
      d.predicted_decode_tok_s = 0;  // the planner finds it does not fit; reported as unknown
    }
    r.decode.push_back(std::move(d));
  }
  if (opt.n_prompt > 0) {
    const Int8Peak peak = measure_int8_peak(pool, compute.level());
    r.int8_peak_macs_per_s = peak.macs_per_s;
    r.int8_peak_method = peak.method;
    if (peak.macs_per_s > 0) r.prefill_peak_ratio = r.prefill_macs_per_s.median / peak.macs_per_s;
  }
  return r;
}

std::string bench_to_json(const BenchResult& r) {
  using json = nlohmann::ordered_json;
  auto stat = [](const Stat& s, double scale = 1) {
    json v = json::array();
    for (double x : s.values) v.push_back(x * scale);
    return json{{"median", s.median * scale}, {"min", s.min * scale}, {"max", s.max * scale}, {"values", v}};
  };
  json j = {{"model", r.model}, {"arch", r.arch}, {"isa", r.isa}, {"threads", r.threads}, {"kv_type", r.kv_type}, {"n_prompt", r.n_prompt},
            {"n_gen", r.n_gen}, {"reps", r.reps}, {"model_bytes", r.model_bytes}, {"repack", r.repack}};
  j["prefill_tok_s"] = stat(r.prefill_tok_s);
  j["prefill_gmac_s"] = stat(r.prefill_macs_per_s, 1e-9);
  j["macs_per_prompt_token"] = r.macs_per_prompt_token;
  j["int8_peak_gmac_s"] = r.int8_peak_macs_per_s * 1e-9;
  j["int8_peak_method"] = r.int8_peak_method;
  j["prefill_peak_ratio"] = r.prefill_peak_ratio;
  j["catalogue_bytes_per_token"] = r.catalogue_bytes_per_token;
  j["pool_read_gb_s"] = r.pool_read_bytes_per_s * 1e-9;
  j["kernel_decode_gb_s"] = r.kernel_decode_bytes_per_s * 1e-9;
  j["kernel_decode_type"] = r.kernel_decode_type;
  j["pool_job_us"] = r.pool_job_seconds * 1e6;
  j["attention_gmac_s"] = r.attention_macs_per_s * 1e-9;
  json decode = json::array();
  for (const DecodeRun& d : r.decode) {
    json e = {{"depth", d.depth}, {"tok_s", stat(d.tok_s)}, {"bytes_per_token", d.bytes_per_token},
              {"weight_bytes_per_token", d.weight_bytes_per_token}, {"kv_bytes_per_token", d.kv_bytes_per_token},
              {"achieved_gb_s", stat(d.achieved_bytes_per_s, 1e-9)}, {"stream_gb_s", stat(d.stream_bytes_per_s, 1e-9)},
              {"efficiency", stat(d.efficiency)}};
    if (&d != &r.decode.front()) e["change_vs_first_depth"] = stat(d.change_vs_first);
    e["predicted_tok_s"] = d.predicted_decode_tok_s;
    e["predicted_memory_only_tok_s"] = d.predicted_memory_only_tok_s;
    decode.push_back(std::move(e));
  }
  j["decode"] = std::move(decode);
  return j.dump(2) + "\n";
}

std::string bench_to_text(const BenchResult& r) {
  std::ostringstream o;
  char buf[512];
  auto st = [&](const Stat& s, double scale, const char* fmt) {
    char b[160];
    std::snprintf(b, sizeof b, fmt, s.median * scale, s.min * scale, s.max * scale);
    return std::string(b);
  };
  std::snprintf(buf, sizeof buf, "model: %s (%s), %.2f GB; %s, %d threads, KV cache %s; %d reps (median [min, max])\n",
                r.model.c_str(), r.arch.c_str(), static_cast<double>(r.model_bytes) * 1e-9, r.isa.c_str(), r.threads,
                r.kv_type.c_str(), r.reps);
  o << buf;
  if (!r.repack.empty()) o << r.repack << "\n";
  if (r.n_prompt > 0) {
    o << "prefill pp" << r.n_prompt << ": " << st(r.prefill_tok_s, 1, "%.2f tok/s [%.2f, %.2f]") << "\n";
    std::snprintf(buf, sizeof buf, "  %.3g MAC/token; %s; int8 peak %.1f GMAC/s (%s); ratio %.1f%%\n",
                  r.macs_per_prompt_token, st(r.prefill_macs_per_s, 1e-9, "%.1f GMAC/s [%.1f, %.1f]").c_str(),
                  r.int8_peak_macs_per_s * 1e-9, r.int8_peak_method.c_str(), 100 * r.prefill_peak_ratio);
    o << buf;
  }
  for (const DecodeRun& d : r.decode) {
    o << "decode tg" << r.n_gen << " at depth " << d.depth << ": " << st(d.tok_s, 1, "%.2f tok/s [%.2f, %.2f]");
    if (&d != &r.decode.front())
      o << "; vs depth " << r.decode.front().depth << ", same reps: "
        << st(d.change_vs_first, 100, "%+.1f%% [%+.1f%%, %+.1f%%]");
    o << "\n";
    std::snprintf(buf, sizeof buf,
                  "  bytes/token: %.1f MB (weights %.1f MB from the experts selected, KV %.1f MB; catalogue estimate "
                  "%.1f MB)\n",
                  d.bytes_per_token * 1e-6, d.weight_bytes_per_token * 1e-6, d.kv_bytes_per_token * 1e-6,
                  r.catalogue_bytes_per_token * 1e-6);
    o << buf;
    o << "  achieved " << st(d.achieved_bytes_per_s, 1e-9, "%.2f GB/s [%.2f, %.2f]") << "; machine read (STREAM-like, "
      << r.threads << " threads) " << st(d.stream_bytes_per_s, 1e-9, "%.2f GB/s [%.2f, %.2f]") << "\n";
    o << "  decode efficiency " << st(d.efficiency, 100, "%.1f%% [%.1f%%, %.1f%%]") << "\n";
    std::snprintf(buf, sizeof buf,
                  "  planner predicts %.2f tok/s (DRAM at the measured bandwidth, kernel ceiling, hand-offs, "
                  "attention rate): "
                  "measured/predicted %.2f; memory-only bound %.2f tok/s\n",
                  d.predicted_decode_tok_s, d.predicted_decode_tok_s > 0 ? d.tok_s.median / d.predicted_decode_tok_s : 0.0,
                  d.predicted_memory_only_tok_s);
    o << buf;
  }
  if (!r.decode.empty()) {
    std::snprintf(buf, sizeof buf, "thread pool read (one contiguous slice per thread): %.2f GB/s\n",
                  r.pool_read_bytes_per_s * 1e-9);
    o << buf;
    std::snprintf(buf, sizeof buf,
                  "decode kernel ceiling (LLC-resident matvec, all threads: %s): %.2f GB/s; pool job hand-off %.1f us\n",
                  r.kernel_decode_type.c_str(), r.kernel_decode_bytes_per_s * 1e-9, r.pool_job_seconds * 1e6);
    o << buf;
    std::snprintf(buf, sizeof buf, "decode attention (F16 K/V from DRAM, %lld positions, all threads): %.2f GMAC/s\n",
                  static_cast<long long>(kAttentionRatePositions), r.attention_macs_per_s * 1e-9);
    o << buf;
  }
  return o.str();
}

}  // namespace strata
