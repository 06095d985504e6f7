// `strata plan`: place every tensor and every expert on the machine's tiers and predict decode / prefill
// speed before loading a byte; show the bottleneck, what more memory would buy, and the closest llama.cpp
// flags with their predicted speed.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "gguf/reader.h"
#include "model/catalogue.h"
#include "model/shapes.h"
#include "ops/kv_cache.h"
#include "plan/llama_export.h"
#include "plan/plan.h"
#include "plan/presets.h"
#include "plan/usage.h"
#include "runtime/attention_rate.h"
#include "tiers/machine.h"
#include "tiers/probe.h"
#include "tiers/tier_config.h"
#include "tiers/units.h"
#include "util/error.h"

namespace strata::cli {
namespace {

struct Opts {
  std::string model, shape, quant, profile, tiers, hardware;
  uint32_t context = 4096;
  uint32_t batch = 1;
  std::string kv_type = "f16";
  bool json = false;
};

MachineProfile saved_or_quick_probe(std::vector<std::string>& notes) {
  const std::string path = default_profile_path();
  if (std::filesystem::exists(path)) {
    notes.push_back("machine: saved profile " + path);
    return load_profile(path);
  }
  notes.push_back("machine: no saved profile (" + path + "), quick DRAM and attention probe; run `strata probe` for a full one");
  ProbeOptions po;
  po.quick = true;
  MachineProfile m = probe_machine(po);
  add_attention_rates(m, true);  // without it long contexts would cost no attention arithmetic
  return m;
}

MachineProfile resolve_machine(const Opts& o, std::vector<std::string>& notes) {
  MachineProfile m;
  TierConfig cfg;
  if (!o.tiers.empty()) cfg = load_tier_config(o.tiers);
  if (!o.hardware.empty()) {
    m = parse_hardware(o.hardware);
    notes.push_back("machine: --hardware \"" + o.hardware + "\"");
  } else if (!o.tiers.empty() && !cfg.base.empty() && cfg.base != "probe") {
    m = parse_hardware(cfg.base);
    notes.push_back("machine: base \"" + cfg.base + "\" from " + o.tiers);
  } else if (!o.tiers.empty() && cfg.base.empty()) {
    m.cpu.threads = m.cpu.cores = 1;
    notes.push_back("machine: tiers declared in " + o.tiers);
  } else {
    m = saved_or_quick_probe(notes);
  }
  if (!o.tiers.empty()) apply_tier_config(m, cfg);
  return m;
}

ModelCatalogue resolve_model(const Opts& o, std::string& name) {
  if (!o.model.empty()) {
    if (!o.shape.empty()) throw InputError("give either -m MODEL.gguf or --shape NAME, not both");
    GgufOpenOptions go;
    go.map_data = false;
    GgufModel g = GgufModel::open(o.model, go);
    name = std::filesystem::path(o.model).filename().string();
    return build_catalogue(g);
  }
  if (o.shape.empty()) throw InputError("plan needs a model: -m MODEL.gguf, or --shape NAME --quant MIX");
  const std::string quant = o.quant.empty() ? "Q4_K_M" : o.quant;
  HParams hp = shape_hparams(o.shape);
  name = o.shape + " " + quant;
  return build_catalogue(hp, model_tensors(hp, quant_mix(quant)));
}

std::string ms(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f ms", s * 1e3);
  return b;
}

void print_table(const Plan& p, const ModelCatalogue& cat, const std::string& name,
                 const std::vector<std::string>& notes, const std::vector<std::pair<std::string, double>>& gains,
                 const Plan& per_tensor, const LlamaCppExport& lc) {
  const HParams& hp = cat.hp;
  std::printf("model: %s (%s, %u layers", name.c_str(), hp.arch.c_str(), hp.n_layer);
  if (hp.n_expert) std::printf(", %u experts, %u used", hp.n_expert, hp.n_expert_used);
  std::printf(") %s, %s read per token\n", format_bytes(static_cast<double>(cat.total_bytes())).c_str(),
              format_bytes(p.bytes_per_token).c_str());
  for (const auto& n : notes) std::printf("%s\n", n.c_str());
  std::printf("\n%-10s %-5s %-13s %10s %10s %10s %11s %11s %10s %6s\n", "tier", "kind", "compute", "capacity",
              "placed", "reserved", "read/token", "bandwidth", "time/token", "share");
  for (const auto& t : p.tiers) {
    const double reserved = static_cast<double>(t.reserved_system + t.kv_bytes + t.work_bytes + t.staging_bytes);
    std::printf("%-10s %-5s %-13s %10s %10s %10s %11s %11s %10s %5.1f%%\n", t.name.c_str(), tier_kind_name(t.kind),
                compute_site_name(t.site), format_bytes(static_cast<double>(t.capacity)).c_str(),
                format_bytes(static_cast<double>(t.placed_bytes)).c_str(), format_bytes(reserved).c_str(),
                format_bytes(t.read_per_token).c_str(), t.bandwidth > 0 ? format_bandwidth(t.bandwidth).c_str() : "-",
                ms(t.seconds_per_token).c_str(), 100 * t.time_share);
  }
  std::printf("%-10s %-5s %-13s %10s %10s %10s %11s %11s %10s %5.1f%%\n", "fixed", "", "per-layer", "", "", "", "",
              "", ms(p.fixed_seconds).c_str(), p.decode_seconds > 0 ? 100 * p.fixed_seconds / p.decode_seconds : 0);
  std::printf("(reserved = OS/driver + KV cache + work buffers + staging; tiers of one NUMA group run in parallel)\n\n");
  std::printf("predicted decode:  %.2f tok/s  (%s per token; hardware bound %.2f tok/s)\n", p.decode_tok_s,
              ms(p.decode_seconds).c_str(), p.bound_tok_s);
  std::printf("predicted prefill: %.1f tok/s\n", p.prefill_tok_s);
  std::printf("bottleneck: %s\n", p.bottleneck.c_str());
  std::printf("one more GB of:");
  for (const auto& [t, d] : gains) std::printf("  %s %+.3f tok/s", t.c_str(), d);
  std::printf("\nassumptions:\n");
  for (const auto& a : p.assumptions) std::printf("  - %s\n", a.c_str());
  std::printf("\nllama.cpp equivalent:  llama-cli -m MODEL.gguf %s\n", lc.flags.c_str());
  std::printf("  host memory: %s\n", lc.host.c_str());
  for (const auto& n : lc.notes) std::printf("  - %s\n", n.c_str());
  std::printf("\n%-40s %12s %12s\n", "side by side", "decode", "prefill");
  std::printf("%-40s %8.2f tok/s %8.1f tok/s\n", "Strata, per-expert placement", p.decode_tok_s, p.prefill_tok_s);
  std::printf("%-40s %8.2f tok/s %8.1f tok/s\n", "Strata, per-tensor placement", per_tensor.decode_tok_s,
              per_tensor.prefill_tok_s);
  std::printf("%-40s %8.2f tok/s %8.1f tok/s\n", "llama.cpp with the flags above", lc.plan.decode_tok_s,
              lc.plan.prefill_tok_s);
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("plan", "Place tensors and experts on the machine's tiers and predict tok/s");
  cmd->footer("\n" + hardware_help() +
              "\nWithout --hardware or --tiers the saved machine profile (`strata probe`) is used, or a quick probe.\n"
              "A --tiers TOML file may start from base = \"probe\" or base = \"<hardware string>\" and override tiers.\n"
              "Model shapes (--shape): " + [] {
                std::string s;
                for (const auto& n : shape_names()) s += (s.empty() ? "" : ", ") + n;
                return s;
              }() + "\nQuant mixes (--quant): " + [] {
                std::string s;
                for (const auto& n : quant_mix_names()) s += (s.empty() ? "" : ", ") + n;
                return s;
              }() + "\n");
  auto o = std::make_shared<Opts>();
  cmd->add_option("-m,--model", o->model, "GGUF model file (first shard of a split set)");
  cmd->add_option("--shape", o->shape, "Plan a published model without the file (see below)");
  cmd->add_option("--quant", o->quant, "Quant mix for --shape (default Q4_K_M)");
  cmd->add_option("--profile", o->profile, "Expert usage profile JSON (strata run --record-usage)");
  cmd->add_option("--tiers", o->tiers, "TOML tier file declaring / overriding tiers");
  cmd->add_option("--hardware", o->hardware, "Hardware preset string (grammar below)");
  cmd->add_option("-c,--ctx-size", o->context, "Context length to reserve KV cache for")->check(CLI::Range(1u, 1u << 24));
  cmd->add_option("--batch", o->batch, "Sequences decoded together")->check(CLI::Range(1u, 4096u));
  cmd->add_option("--kv-type", o->kv_type, "KV cache type: f16, f32 or q8_0")->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the plan as JSON (what the runtime executes)");
  cmd->callback([o]() {
    std::vector<std::string> notes;
    std::string name;
    ModelCatalogue cat = resolve_model(*o, name);
    MachineProfile machine = resolve_machine(*o, notes);
    UsageProfile usage;
    const UsageProfile* up = nullptr;
    if (!o->profile.empty()) {
      usage = load_usage(o->profile);
      up = &usage;
      notes.push_back("usage profile: " + o->profile);
    }
    PlanOptions opt;
    opt.context = o->context;
    opt.batch = o->batch;
    opt.kv_type = parse_kv_type(o->kv_type, "--kv-type");
    Plan plan = make_plan(cat, machine, up, opt);
    plan.model = name;
    PlanOptions pt = opt;
    pt.per_expert = false;
    const Plan per_tensor = make_plan(cat, machine, up, pt);
    const LlamaCppExport lc = llama_cpp_equivalent(cat, machine, up, opt);
    if (o->json) {
      auto j = nlohmann::json::parse(plan_to_json(plan));
      j["llama_cpp"] = {{"flags", lc.flags}, {"host", lc.host}, {"decode_tok_s", lc.plan.decode_tok_s},
                        {"prefill_tok_s", lc.plan.prefill_tok_s}};
      j["per_tensor_decode_tok_s"] = per_tensor.decode_tok_s;
      std::printf("%s\n", j.dump(1).c_str());
      return;
    }
    print_table(plan, cat, name, notes, marginal_gains(cat, machine, up, opt), per_tensor, lc);
  });
}

}  // namespace strata::cli
