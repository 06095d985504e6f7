// The plan as JSON: what `strata plan --json` prints and what the runtime executes.
#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "util/error.h"
#include "util/json_number.h"

namespace strata {

using nlohmann::json;

namespace {

ComputeSite parse_site(const std::string& s) {
  for (ComputeSite c : {ComputeSite::Gpu, ComputeSite::CpuInPlace, ComputeSite::Staged}) {
    if (s == compute_site_name(c)) return c;
  }
  throw InputError("unknown compute site '" + s + "'");
}

}  // namespace

std::string plan_to_json(const Plan& p) {
  json j;
  j["format"] = "strata-plan";
  j["version"] = 1;
  j["model"] = {{"name", p.model}, {"arch", p.arch}, {"n_layer", p.n_layer}, {"n_expert", p.n_expert},
                {"n_expert_used", p.n_expert_used}};
  j["options"] = {{"context", p.options.context}, {"batch", p.options.batch}, {"ubatch", p.options.ubatch},
                  {"per_expert", p.options.per_expert}, {"kv_fill", p.options.kv_fill},
                  {"lookahead_layers", p.options.lookahead_layers},
                  {"kv_type", type_name(static_cast<uint32_t>(p.options.kv_type))}};
  j["usage_profile"] = p.usage_profile;
  j["tiers"] = json::array();
  for (const auto& t : p.tiers) {
    j["tiers"].push_back({{"name", t.name}, {"kind", tier_kind_name(t.kind)}, {"mode", t.mode},
                          {"site", compute_site_name(t.site)}, {"group", t.group}, {"capacity", t.capacity},
                          {"reserved_system", t.reserved_system}, {"kv_bytes", t.kv_bytes},
                          {"work_bytes", t.work_bytes}, {"staging_bytes", t.staging_bytes},
                          {"placed_bytes", t.placed_bytes}, {"read_per_token", t.read_per_token},
                          {"bandwidth", t.bandwidth}, {"seconds_per_token", t.seconds_per_token},
                          {"time_share", t.time_share}});
  }
  j["kv_tier"] = p.kv_tier;
  j["tensors"] = p.tensor_tier;
  // Experts: one row per layer, the tier index of each expert ([] for layers not split per expert).
  j["experts"] = p.expert_tier;
  j["prediction"] = {{"bytes_per_token", p.bytes_per_token}, {"fixed_seconds", p.fixed_seconds},
                     {"decode_seconds", p.decode_seconds}, {"decode_tok_s", p.decode_tok_s},
                     {"prefill_tok_s", p.prefill_tok_s}, {"bound_tok_s", p.bound_tok_s},
                     {"bottleneck", p.bottleneck}};
  j["assumptions"] = p.assumptions;
  return j.dump(1) + "\n";
}

Plan plan_from_json(const std::string& text, const std::string& origin) {
  Plan p;
  try {
    json j = json::parse(text);
    if (j.value("format", "") != "strata-plan") throw FormatError(origin, 0, "format", "not a Strata plan");
    if (!j.contains("version") || j["version"] != 1) throw FormatError(origin, 0, "version", "unsupported plan version");
    const json& m = j.at("model");
    p.model = m.at("name").get<std::string>();
    p.arch = m.at("arch").get<std::string>();
    p.n_layer = json_at<uint32_t>(m, "n_layer");
    p.n_expert = json_at<uint32_t>(m, "n_expert");
    p.n_expert_used = json_at<uint32_t>(m, "n_expert_used");
    const json& o = j.at("options");
    p.options.context = json_at<uint32_t>(o, "context");
    p.options.batch = json_at<uint32_t>(o, "batch");
    p.options.ubatch = json_at<uint32_t>(o, "ubatch");
    p.options.per_expert = o.at("per_expert").get<bool>();
    p.options.kv_fill = json_at<double>(o, "kv_fill");
    p.options.lookahead_layers = json_at<int>(o, "lookahead_layers");
    if (o.contains("kv_type")) {  // plans written before the Q8_0 cache have none: F16
      const auto t = parse_type(o.at("kv_type").get<std::string>());
      if (!t || (*t != TensorType::F16 && *t != TensorType::F32 && *t != TensorType::Q8_0))
        throw FormatError(origin, 0, "options.kv_type", "must be F16, F32 or Q8_0");
      p.options.kv_type = *t;
    }
    p.usage_profile = j.at("usage_profile").get<bool>();
    for (const auto& t : j.at("tiers")) {
      TierPlan tp;
      tp.name = t.at("name").get<std::string>();
      tp.kind = parse_tier_kind(t.at("kind").get<std::string>());
      tp.mode = t.at("mode").get<std::string>();
      tp.site = parse_site(t.at("site").get<std::string>());
      tp.group = json_at<int>(t, "group");
      tp.capacity = json_at<uint64_t>(t, "capacity");
      tp.reserved_system = json_at<uint64_t>(t, "reserved_system");
      tp.kv_bytes = json_at<uint64_t>(t, "kv_bytes");
      tp.work_bytes = json_at<uint64_t>(t, "work_bytes");
      tp.staging_bytes = json_at<uint64_t>(t, "staging_bytes");
      tp.placed_bytes = json_at<uint64_t>(t, "placed_bytes");
      tp.read_per_token = json_at<double>(t, "read_per_token");
      tp.bandwidth = json_at<double>(t, "bandwidth");
      tp.seconds_per_token = json_at<double>(t, "seconds_per_token");
      tp.time_share = json_at<double>(t, "time_share");
      p.tiers.push_back(tp);
    }
    p.kv_tier = json_at<int>(j, "kv_tier");
    const json& tensors = j.at("tensors");
    if (!tensors.is_object()) throw InputError("tensors: expected an object");
    for (const auto& [name, t] : tensors.items()) p.tensor_tier[name] = json_to<int>(t, "tensors." + name);
    const json& experts = j.at("experts");
    if (!experts.is_array()) throw InputError("experts: expected an array");
    for (size_t l = 0; l < experts.size(); ++l)
      p.expert_tier.push_back(json_vector<int>(experts[l], "experts[" + std::to_string(l) + "]"));
    const json& r = j.at("prediction");
    p.bytes_per_token = json_at<double>(r, "bytes_per_token");
    p.fixed_seconds = json_at<double>(r, "fixed_seconds");
    p.decode_seconds = json_at<double>(r, "decode_seconds");
    p.decode_tok_s = json_at<double>(r, "decode_tok_s");
    p.prefill_tok_s = json_at<double>(r, "prefill_tok_s");
    p.bound_tok_s = json_at<double>(r, "bound_tok_s");
    p.bottleneck = r.at("bottleneck").get<std::string>();
    p.assumptions = j.at("assumptions").get<std::vector<std::string>>();
    const int nt = static_cast<int>(p.tiers.size());
    for (const auto& [name, t] : p.tensor_tier) {
      if (t < 0 || t >= nt) throw FormatError(origin, 0, "tensors", name + " names tier " + std::to_string(t));
    }
    for (const auto& row : p.expert_tier) {
      for (int t : row) {
        if (t < 0 || t >= nt) throw FormatError(origin, 0, "experts", "tier index " + std::to_string(t) + " out of range");
      }
    }
  } catch (const json::exception& e) {
    throw FormatError(origin, 0, "json", e.what());
  } catch (const InputError& e) {
    throw FormatError(origin, 0, "plan", e.what());
  }
  return p;
}

}  // namespace strata
