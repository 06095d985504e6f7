#include "tiers/machine.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "util/error.h"
#include "util/json_number.h"

namespace strata {

using nlohmann::json;

const TierSpec* MachineProfile::find(const std::string& name) const {
  for (const auto& t : tiers) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TierSpec* MachineProfile::find(const std::string& name) {
  for (auto& t : tiers) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

namespace {

json tier_to_json(const TierSpec& t) {
  json j;
  j["name"] = t.name;
  j["kind"] = tier_kind_name(t.kind);
  j["capacity"] = t.capacity;
  j["stream_bw"] = t.stream_bw;
  j["seq_read_bw"] = t.seq_read_bw;
  j["random_4k_bw"] = t.random_4k_bw;
  j["latency_s"] = t.latency_s;
  j["peak_bw"] = t.peak_bw;
  j["numa_node"] = t.numa_node;
  j["path"] = t.path;
  j["mode"] = t.mode;
  j["near_cache_bytes"] = t.near_cache_bytes;
  j["near_cache_bw"] = t.near_cache_bw;
  j["link_bw"] = t.link_bw;
  j["link_latency_s"] = t.link_latency_s;
  j["compute_flops"] = t.compute_flops;
  j["source"] = t.source;
  return j;
}

template <class T>
void get_opt(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if constexpr (std::is_arithmetic_v<T>) out = json_to<T>(*it, key);
  else out = it->get<T>();
}

TierSpec tier_from_json(const json& j) {
  TierSpec t;
  t.name = j.at("name").get<std::string>();
  t.kind = parse_tier_kind(j.at("kind").get<std::string>());
  get_opt(j, "capacity", t.capacity);
  get_opt(j, "stream_bw", t.stream_bw);
  get_opt(j, "seq_read_bw", t.seq_read_bw);
  get_opt(j, "random_4k_bw", t.random_4k_bw);
  get_opt(j, "latency_s", t.latency_s);
  get_opt(j, "peak_bw", t.peak_bw);
  get_opt(j, "numa_node", t.numa_node);
  get_opt(j, "path", t.path);
  get_opt(j, "mode", t.mode);
  get_opt(j, "near_cache_bytes", t.near_cache_bytes);
  get_opt(j, "near_cache_bw", t.near_cache_bw);
  get_opt(j, "link_bw", t.link_bw);
  get_opt(j, "link_latency_s", t.link_latency_s);
  get_opt(j, "compute_flops", t.compute_flops);
  get_opt(j, "source", t.source);
  return t;
}

}  // namespace

std::string profile_to_json(const MachineProfile& p) {
  json j;
  j["format"] = "strata-machine-profile";
  j["version"] = 1;
  j["created"] = p.created;
  j["cpu"] = {{"model", p.cpu.model},
              {"sockets", p.cpu.sockets},
              {"cores", p.cpu.cores},
              {"threads", p.cpu.threads},
              {"prefill_flops", p.cpu.prefill_flops},
              {"decode_bytes_per_s", p.cpu.decode_bytes_per_s},
              {"attention_macs_per_s", p.cpu.attention_macs_per_s},
              {"mla_attention_macs_per_s", p.cpu.mla_attention_macs_per_s},
              {"per_layer_overhead_s", p.cpu.per_layer_overhead_s}};
  j["tiers"] = json::array();
  for (const auto& t : p.tiers) j["tiers"].push_back(tier_to_json(t));
  j["notes"] = p.notes;
  return j.dump(2) + "\n";
}

MachineProfile profile_from_json(const std::string& text, const std::string& origin) {
  MachineProfile p;
  try {
    json j = json::parse(text);
    if (j.value("format", "") != "strata-machine-profile") {
      throw FormatError(origin, 0, "format", "not a Strata machine profile (expected \"strata-machine-profile\")");
    }
    if (!j.contains("version") || j["version"] != 1)
      throw FormatError(origin, 0, "version", "unsupported profile version");
    get_opt(j, "created", p.created);
    const json& c = j.at("cpu");
    get_opt(c, "model", p.cpu.model);
    get_opt(c, "sockets", p.cpu.sockets);
    get_opt(c, "cores", p.cpu.cores);
    get_opt(c, "threads", p.cpu.threads);
    get_opt(c, "prefill_flops", p.cpu.prefill_flops);
    get_opt(c, "decode_bytes_per_s", p.cpu.decode_bytes_per_s);
    get_opt(c, "attention_macs_per_s", p.cpu.attention_macs_per_s);
    get_opt(c, "mla_attention_macs_per_s", p.cpu.mla_attention_macs_per_s);
    get_opt(c, "per_layer_overhead_s", p.cpu.per_layer_overhead_s);
    for (const auto& t : j.at("tiers")) p.tiers.push_back(tier_from_json(t));
    get_opt(j, "notes", p.notes);
  } catch (const json::exception& e) {
    throw FormatError(origin, 0, "json", e.what());
  } catch (const InputError& e) {
    throw FormatError(origin, 0, "tiers", e.what());
  }
  return p;
}

void save_profile(const MachineProfile& p, const std::string& path) {
  namespace fs = std::filesystem;
  fs::path fp(path);
  if (fp.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(fp.parent_path(), ec);
  }
  // Write beside and rename, so a crash never leaves plan reading half a profile.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw Error("cannot write machine profile " + tmp);
    out << profile_to_json(p);
    if (!out) throw Error("cannot write machine profile " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error("cannot write machine profile " + path + ": " + ec.message());
  }
}

MachineProfile load_profile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read machine profile " + path + " (run `strata probe` to create it)");
  std::stringstream ss;
  ss << in.rdbuf();
  return profile_from_json(ss.str(), path);
}

std::string default_profile_path() {
  if (const char* p = std::getenv("STRATA_PROFILE"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/strata/machine.json";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/strata/machine.json";
  return "strata-machine.json";
}

}  // namespace strata
