// Pure planner tests: hand-built catalogues and machines, properties, the published figures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "model/shapes.h"
#include "plan/llama_export.h"
#include "plan/plan.h"
#include "plan/presets.h"
#include "plan/usage.h"
#include "util/error.h"

namespace strata {
namespace {

// A small MoE: 4 layers (layer 0 dense), 16 experts of which 2 are used, everything Q8_0-sized by hand.
ModelCatalogue toy_moe() {
  HParams hp;
  hp.arch = "qwen3moe";
  hp.n_vocab = 1000;
  hp.n_embd = 256;
  hp.n_layer = 4;
  hp.n_head = 4;
  hp.n_head_kv = 2;
  hp.n_ff = 512;
  hp.n_expert = 16;
  hp.n_expert_used = 2;
  hp.n_ff_exp = 256;
  std::vector<TensorDesc> t;
  t.push_back({"token_embd.weight", {256, 1000}, TensorType::Q8_0});
  for (int l = 0; l < 4; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    t.push_back({b + "attn_norm.weight", {256}, TensorType::F32});
    t.push_back({b + "attn_q.weight", {256, 256}, TensorType::Q8_0});
    t.push_back({b + "attn_k.weight", {256, 128}, TensorType::Q8_0});
    t.push_back({b + "attn_v.weight", {256, 128}, TensorType::Q8_0});
    t.push_back({b + "attn_output.weight", {256, 256}, TensorType::Q8_0});
    t.push_back({b + "ffn_norm.weight", {256}, TensorType::F32});
    if (l == 0) {
      t.push_back({b + "ffn_gate.weight", {256, 512}, TensorType::Q8_0});
      t.push_back({b + "ffn_up.weight", {256, 512}, TensorType::Q8_0});
      t.push_back({b + "ffn_down.weight", {512, 256}, TensorType::Q8_0});
    } else {
      t.push_back({b + "ffn_gate_inp.weight", {256, 16}, TensorType::F32});
      t.push_back({b + "ffn_gate_exps.weight", {256, 256, 16}, TensorType::Q8_0});
      t.push_back({b + "ffn_up_exps.weight", {256, 256, 16}, TensorType::Q8_0});
      t.push_back({b + "ffn_down_exps.weight", {256, 256, 16}, TensorType::Q8_0});
    }
  }
  t.push_back({"output_norm.weight", {256}, TensorType::F32});
  t.push_back({"output.weight", {256, 1000}, TensorType::Q8_0});
  return build_catalogue(hp, t);
}

TierSpec tier(const std::string& name, TierKind kind, uint64_t cap, double bw, int node = -1) {
  TierSpec t;
  t.name = name;
  t.kind = kind;
  t.capacity = cap;
  t.stream_bw = bw;
  t.seq_read_bw = bw;
  t.random_4k_bw = bw / 100;
  t.peak_bw = bw * 1.2;
  t.numa_node = node;
  t.latency_s = kind == TierKind::Nvme ? 80e-6 : 100e-9;
  return t;
}

// Capacities small enough that the toy model spills across tiers: DRAM keeps its OS reserve (1 GiB at
// this size), the KV cache and the work buffers, and `dram_extra` bytes for weights.
MachineProfile toy_machine(uint64_t dram_extra, uint64_t pmem_cap) {
  static const ModelCatalogue cat = toy_moe();
  const PlanOptions opt;
  const uint64_t buffers = kv_bytes_per_position(cat.hp) * opt.context + work_buffer_bytes(cat.hp, opt);
  MachineProfile m;
  m.cpu.cores = m.cpu.threads = 8;
  m.cpu.prefill_flops = 1e11;
  m.cpu.per_layer_overhead_s = 10e-6;
  m.tiers.push_back(tier("dram0", TierKind::Dram, (1ull << 30) + buffers + (4ull << 20) + dram_extra, 50e9, 0));
  m.tiers.push_back(tier("pmem0", TierKind::Pmem, pmem_cap, 10e9, 0));
  m.tiers.push_back(tier("nvme0", TierKind::Nvme, 1ull << 40, 3e9));
  return m;
}

UsageProfile skewed_usage(const ModelCatalogue& cat) {
  UsageProfile u = make_usage(cat.hp.n_layer, cat.hp.n_expert);
  for (uint32_t l = 1; l < cat.hp.n_layer; ++l) {
    for (uint32_t e = 0; e < cat.hp.n_expert; ++e) u.counts[l][e] = 1 + (e * 7 + l * 3) % 16 * (e % 5 + 1);
  }
  return u;
}

void check_capacities(const Plan& p) {
  for (const auto& t : p.tiers) {
    EXPECT_LE(t.placed_bytes + t.reserved_system + t.kv_bytes + t.work_bytes + t.staging_bytes, t.capacity)
        << t.name;
  }
}

// Every expert placed on a tier at least as fast as every colder expert's.
void check_hot_before_cold(const Plan& p, const ModelCatalogue& cat, const UsageProfile* u) {
  std::vector<std::pair<double, double>> pb;  // (probability, tier bandwidth rank)
  for (uint32_t l = 0; l < p.expert_tier.size(); ++l) {
    for (uint32_t e = 0; e < p.expert_tier[l].size(); ++e) {
      const auto& t = p.tiers[p.expert_tier[l][e]];
      const double speed = t.site == ComputeSite::Staged ? 0 : t.bandwidth;
      pb.emplace_back(expert_probability(u, l, e, cat.hp.n_expert, cat.hp.n_expert_used), speed);
    }
  }
  ASSERT_FALSE(pb.empty());
  std::sort(pb.begin(), pb.end(), [](auto& a, auto& b) { return a.first > b.first; });
  double slowest_hotter = 1e30;
  double last_p = -1;
  double pending = 1e30;
  for (const auto& [prob, speed] : pb) {
    if (prob != last_p) {
      slowest_hotter = std::min(slowest_hotter, pending);
      pending = 1e30;
      last_p = prob;
    }
    EXPECT_LE(speed, slowest_hotter) << "an expert with p=" << prob << " sits faster than a hotter one";
    pending = std::min(pending, speed);
  }
}

TEST(Planner, ToyModelSpillsAcrossTiersWithinCapacity) {
  const auto cat = toy_moe();
  std::printf("toy model: %.2f MB\n", cat.total_bytes() / 1e6);
  const auto m = toy_machine(0, 6ull << 20);
  const Plan p = make_plan(cat, m, nullptr, PlanOptions{});
  check_capacities(p);
  for (const auto& t : p.tiers) EXPECT_GT(t.placed_bytes, 0u) << t.name << " holds nothing: the test is vacuous";
  EXPECT_GT(p.decode_tok_s, 0);
  EXPECT_LE(p.decode_tok_s, p.bound_tok_s);
  // Every tensor and every expert is placed exactly once.
  size_t experts = 0;
  for (const auto& row : p.expert_tier) experts += row.size();
  EXPECT_EQ(experts, 3u * 16);
  for (const auto& e : cat.entries) {
    if (!e.is_expert_tensor()) {
      EXPECT_TRUE(p.tensor_tier.count(e.name)) << e.name;
    }
  }
  EXPECT_NEAR(p.bytes_per_token, cat.bytes_per_token().total(), 1.0);
}

TEST(Planner, AlwaysActiveBeforeExpertsAndHotBeforeCold) {
  const auto cat = toy_moe();
  const UsageProfile u = skewed_usage(cat);
  for (uint64_t extra : {0ull, 2ull << 20, 5ull << 20}) {
    const Plan p = make_plan(cat, toy_machine(extra, 3ull << 20), &u, PlanOptions{});
    check_capacities(p);
    check_hot_before_cold(p, cat, &u);
    const int attn = p.tensor_tier.at("blk.2.attn_q.weight");
    EXPECT_EQ(p.tiers[attn].name, "dram0");
  }
}

TEST(Planner, MoreFastMemoryNeverLowersThePrediction) {
  const auto cat = toy_moe();
  const UsageProfile u = skewed_usage(cat);
  for (const UsageProfile* up : {static_cast<const UsageProfile*>(nullptr), &u}) {
    double prev = 0;
    for (uint64_t extra = 0; extra <= (8ull << 20); extra += 1ull << 19) {
      const double tok = make_plan(cat, toy_machine(extra, 2ull << 20), up, PlanOptions{}).decode_tok_s;
      EXPECT_GE(tok, prev * (1 - 1e-12)) << "extra DRAM " << extra;
      prev = tok;
    }
    prev = 0;
    for (uint64_t pm = 0; pm <= (8ull << 20); pm += 1ull << 19) {
      const double tok = make_plan(cat, toy_machine(0, pm), up, PlanOptions{}).decode_tok_s;
      EXPECT_GE(tok, prev * (1 - 1e-12)) << "PMem " << pm;
      prev = tok;
    }
  }
}

TEST(Planner, PropertiesOnEveryShapeAndPreset) {
  const char* hw[] = {"xeon-6338:6ch-ddr4-3200:64G + optane-200:6x128G",
                      "2x xeon-6338:8ch-ddr4-3200:768G",
                      "xeon-6246:6ch-ddr4-2933:192G + optane-100:6x128G:memory-mode + rtx3060",
                      "epyc-9654:12ch-ddr5-4800:96G + rtx4090 + nvme-gen4:4T"};
  for (const auto& shape : shape_names()) {
    HParams hp = shape_hparams(shape);
    const auto cat = build_catalogue(hp, model_tensors(hp, quant_mix("Q3_K_M")));
    for (const char* h : hw) {
      const auto m = parse_hardware(h);
      const Plan p = make_plan(cat, m, nullptr, PlanOptions{});
      SCOPED_TRACE(shape + " on " + h);
      check_capacities(p);
      if (hp.n_expert > 1) check_hot_before_cold(p, cat, nullptr);
      EXPECT_GT(p.decode_tok_s, 0);
      EXPECT_LE(p.decode_tok_s, p.bound_tok_s * (1 + 1e-9));
      EXPECT_GT(p.prefill_tok_s, 0);
      PlanOptions pt;
      pt.per_expert = false;
      // Finer granularity can only help the optimum; greedy may lose one unit per tier boundary.
      EXPECT_GE(p.decode_tok_s, make_plan(cat, m, nullptr, pt).decode_tok_s * 0.99);
    }
  }
}

TEST(Planner, StagedTierGetsStagingBuffersAndCostsItsMisses) {
  const auto cat = toy_moe();
  const auto m = toy_machine(0, 0);  // no PMem: experts spill to NVMe
  MachineProfile mm = m;
  mm.tiers.erase(mm.tiers.begin() + 1);
  const Plan p = make_plan(cat, mm, nullptr, PlanOptions{});
  check_capacities(p);
  EXPECT_GT(p.tiers[0].staging_bytes, 0u);
  EXPECT_GT(p.tiers[1].read_per_token, 0);
  EXPECT_GT(p.tiers[1].seconds_per_token, p.tiers[1].read_per_token / 3e9);  // latency on top of bandwidth
}

TEST(Planner, DoesNotFitIsAnInputError) {
  const auto cat = toy_moe();
  MachineProfile m = toy_machine(1ull << 20, 0);
  m.tiers.pop_back();
  m.tiers.pop_back();
  EXPECT_THROW(make_plan(cat, m, nullptr, PlanOptions{}), InputError);
  MachineProfile none;
  EXPECT_THROW(make_plan(cat, none, nullptr, PlanOptions{}), InputError);
}

TEST(Planner, KvBytesMatchFormats) {
  // FORMATS.md 4.10: DeepSeek-V3 / Kimi K2 absorbed MLA 70,272 B per position; Qwen3-235B 192,512 B.
  EXPECT_EQ(kv_bytes_per_position(shape_hparams("kimi-k2")), 70272u);
  EXPECT_EQ(kv_bytes_per_position(shape_hparams("deepseek-v3")), 70272u);
  EXPECT_EQ(kv_bytes_per_position(shape_hparams("qwen3-235b-a22b")), 192512u);
  EXPECT_EQ(kv_bytes_per_position(shape_hparams("qwen3-30b-a3b")), 98304u);
}

// A Q8_0 cache stores 34 bytes per 32 values (rows rounded up to whole blocks); the planner reserves and
// reads that, and the llama.cpp export asks for the same cache (with the flash attention it needs).
TEST(Planner, Q8_0CacheCountsItsBlocks) {
  // qwen3-30b-a3b: 48 layers x 2 x (4 KV heads x 128) values; kimi-k2: 61 layers x (512 + 64).
  EXPECT_EQ(kv_bytes_per_position(shape_hparams("qwen3-30b-a3b"), TensorType::Q8_0), 48u * 2 * 512 / 32 * 34);
  EXPECT_EQ(kv_bytes_per_position(shape_hparams("kimi-k2"), TensorType::Q8_0), 61u * 576 / 32 * 34);
  EXPECT_EQ(kv_bytes_per_position(shape_hparams("kimi-k2"), TensorType::F32), 2 * 70272u);
  const auto cat = toy_moe();
  const MachineProfile m = toy_machine(64ull << 20, 0);
  PlanOptions opt;
  opt.kv_fill = 1.0;
  const Plan f16 = make_plan(cat, m, nullptr, opt);
  opt.kv_type = TensorType::Q8_0;
  const Plan q8 = make_plan(cat, m, nullptr, opt);
  EXPECT_EQ(q8.tiers[q8.kv_tier].kv_bytes, kv_bytes_per_position(cat.hp, TensorType::Q8_0) * opt.context);
  EXPECT_LT(q8.tiers[q8.kv_tier].kv_bytes, f16.tiers[f16.kv_tier].kv_bytes);
  EXPECT_LT(q8.decode_seconds, f16.decode_seconds);
  EXPECT_EQ(plan_from_json(plan_to_json(q8)).options.kv_type, TensorType::Q8_0);
  const std::string flags = llama_cpp_equivalent(cat, m, nullptr, opt).flags;
  EXPECT_NE(flags.find("-ctk q8_0 -ctv q8_0 -fa on"), std::string::npos) << flags;
}

TEST(Planner, AttentionMacsMatchTheGeometry) {
  // qwen3-30b-a3b: 48 layers x 32 heads x (128 + 128); kimi-k2 (absorbed MLA): 61 x 64 x (2 x 512 + 64).
  EXPECT_EQ(attention_macs_per_position(shape_hparams("qwen3-30b-a3b")), 48.0 * 32 * 256);
  EXPECT_EQ(attention_macs_per_position(shape_hparams("kimi-k2")), 61.0 * 64 * (2 * 512 + 64));
}

// A measured CPU attention rate costs only the arithmetic beyond the KV reads already counted, and that
// part grows with the context.
TEST(Planner, CpuAttentionRateCostsWhatExceedsTheKvReads) {
  const auto cat = toy_moe();
  MachineProfile m = toy_machine(64ull << 20, 0);
  PlanOptions opt;
  opt.kv_fill = 1.0;
  const Plan base = make_plan(cat, m, nullptr, opt);
  // Fast enough that the KV reads hide it: nothing changes.
  m.cpu.attention_macs_per_s = 1e15;
  const Plan fast = make_plan(cat, m, nullptr, opt);
  EXPECT_EQ(fast.decode_seconds, base.decode_seconds);
  // Slow: exactly macs / rate - kv bytes / bandwidth more per token.
  m.cpu.attention_macs_per_s = 1e9;
  const Plan slow = make_plan(cat, m, nullptr, opt);
  const double macs = attention_macs_per_position(cat.hp) * opt.context;
  const double kv = static_cast<double>(kv_bytes_per_position(cat.hp)) * opt.context;
  const double bw = slow.tiers[slow.kv_tier].bandwidth;
  EXPECT_NEAR(slow.decode_seconds - base.decode_seconds, macs / 1e9 - kv / bw, 1e-12);
  EXPECT_NE(slow.bottleneck.find("attention"), std::string::npos) << slow.bottleneck;
  EXPECT_TRUE(std::any_of(slow.assumptions.begin(), slow.assumptions.end(),
                          [](const std::string& a) { return a.find("CPU attention at 1.0 GMAC/s") == 0; }));
  // Half the context filled: half the arithmetic (and half the KV reads) per token.
  opt.kv_fill = 0.5;
  const Plan half_base = [&] {
    MachineProfile b = m;
    b.cpu.attention_macs_per_s = 0;
    return make_plan(cat, b, nullptr, opt);
  }();
  const Plan half = make_plan(cat, m, nullptr, opt);
  EXPECT_NEAR(half.decode_seconds - half_base.decode_seconds, (macs / 1e9 - kv / bw) / 2, 1e-12);
}

// Absorbed MLA does about twice the arithmetic per cache byte that grouped-query heads do, so it has a
// rate of its own; a machine that knows only the grouped-query rate charges MLA models nothing.
TEST(Planner, MlaModelsUseTheMlaAttentionRate) {
  const HParams hp = shape_hparams("kimi-k2");
  const ModelCatalogue cat = build_catalogue(hp, model_tensors(hp, quant_mix("Q2_K")));
  MachineProfile m = parse_hardware("2x xeon-8480:8ch-ddr5-4800:2T");
  PlanOptions opt;
  opt.context = 131072;
  opt.kv_fill = 1.0;
  const Plan base = make_plan(cat, m, nullptr, opt);
  m.cpu.attention_macs_per_s = 1e9;
  EXPECT_EQ(make_plan(cat, m, nullptr, opt).decode_seconds, base.decode_seconds);
  m.cpu.mla_attention_macs_per_s = 2e12;
  const Plan p = make_plan(cat, m, nullptr, opt);
  const double macs = attention_macs_per_position(hp) * opt.context;
  const double kv = static_cast<double>(kv_bytes_per_position(hp)) * opt.context;
  EXPECT_NEAR(p.decode_seconds - base.decode_seconds, macs / 2e12 - kv / p.tiers[p.kv_tier].bandwidth, 1e-9);
  EXPECT_TRUE(std::any_of(p.assumptions.begin(), p.assumptions.end(),
                          [](const std::string& a) { return a.find("CPU attention (MLA) at 2000.0 GMAC/s") == 0; }));
}

TEST(PlanJson, RoundTrip) {
  const auto cat = toy_moe();
  const UsageProfile u = skewed_usage(cat);
  const Plan p = make_plan(cat, toy_machine(1ull << 20, 4ull << 20), &u, PlanOptions{});
  const Plan q = plan_from_json(plan_to_json(p));
  EXPECT_EQ(p, q);
  EXPECT_THROW(plan_from_json("{}"), FormatError);
  std::string bad = plan_to_json(p);
  bad.replace(bad.find("\"kv_tier\": "), 12, "\"kv_tier\": 9");
  EXPECT_NO_THROW(plan_from_json(bad));  // kv_tier is informational
}

TEST(Usage, MergeProbabilityAndJson) {
  UsageProfile a = make_usage(2, 4), b = make_usage(2, 4);
  a.counts[1] = {10, 0, 5, 5};   // 20 selections at 2 per token = 10 tokens
  b.counts[1] = {10, 10, 0, 0};
  merge_usage(a, b);
  EXPECT_EQ(a.counts[1], (std::vector<uint64_t>{20, 10, 5, 5}));
  EXPECT_DOUBLE_EQ(expert_probability(&a, 1, 0, 4, 2), 1.0);   // 20 of 20 tokens
  EXPECT_DOUBLE_EQ(expert_probability(&a, 1, 1, 4, 2), 0.5);
  EXPECT_DOUBLE_EQ(expert_probability(&a, 0, 1, 4, 2), 0.5);   // no data: uniform 2/4
  EXPECT_DOUBLE_EQ(expert_probability(nullptr, 0, 1, 8, 2), 0.25);
  EXPECT_EQ(usage_from_json(usage_to_json(a)), a);
  EXPECT_THROW(merge_usage(a, make_usage(3, 4)), InputError);
  EXPECT_THROW(usage_from_json(R"({"n_layer":1,"n_expert":2,"counts":[[1]]})"), FormatError);
  UsageProfile empty;
  merge_usage(empty, a);
  EXPECT_EQ(empty, a);
}

}  // namespace
}  // namespace strata
