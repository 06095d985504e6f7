#include "tiers/tier_config.h"

#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "tiers/units.h"
#include "util/error.h"

namespace strata {
namespace {

[[noreturn]] void fail(const std::string& origin, const toml::node* n, const std::string& key, const std::string& msg) {
  uint64_t line = n ? n->source().begin.line : 0;
  throw FormatError(origin, line, key, msg + " (line " + std::to_string(line) + ")");
}

// Sizes and rates may be written as numbers (bytes, bytes/s, seconds) or as strings with units.
template <class Parse>
auto number_or_string(const std::string& origin, const toml::table& t, const char* key, Parse parse)
    -> std::optional<decltype(parse(std::string_view{}, std::string_view{}))> {
  using R = decltype(parse(std::string_view{}, std::string_view{}));
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (auto s = n->value<std::string>()) {
    try {
      return parse(*s, key);
    } catch (const InputError& e) {
      fail(origin, n, key, e.what());
    }
  }
  if (auto d = n->value<double>()) {
    if (*d < 0) fail(origin, n, key, "must not be negative");
    return static_cast<R>(*d);
  }
  fail(origin, n, key, "expected a number or a string with units");
}

std::optional<std::string> get_string(const std::string& origin, const toml::table& t, const char* key) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (auto s = n->value<std::string>()) return *s;
  fail(origin, n, key, "expected a string");
}

std::optional<int64_t> get_int(const std::string& origin, const toml::table& t, const char* key) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (auto v = n->value<int64_t>()) return *v;
  fail(origin, n, key, "expected an integer");
}

void check_keys(const std::string& origin, const toml::table& t, const std::set<std::string>& known, const char* where) {
  for (const auto& [k, v] : t) {
    if (!known.count(std::string(k.str()))) {
      fail(origin, &v, std::string(k.str()), std::string("unknown key in ") + where);
    }
  }
}

}  // namespace

TierConfig parse_tier_config(const std::string& text, const std::string& origin) {
  TierConfig cfg;
  cfg.origin = origin;
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    throw FormatError(origin, e.source().begin.line, "toml", std::string(e.description()));
  }
  check_keys(origin, root, {"base", "cpu", "tier"}, "the top level");
  if (auto b = get_string(origin, root, "base")) cfg.base = *b;

  if (const toml::node* c = root.get("cpu")) {
    const toml::table* ct = c->as_table();
    if (!ct) fail(origin, c, "cpu", "expected a table [cpu]");
    check_keys(origin, *ct, {"threads", "sockets", "cores", "prefill_flops", "decode_bytes_per_s", "attention_macs_per_s",
                               "mla_attention_macs_per_s", "per_layer_overhead"},
               "[cpu]");
    auto u32 = [&](const char* k) -> std::optional<uint32_t> {
      auto v = get_int(origin, *ct, k);
      if (!v) return std::nullopt;
      if (*v <= 0 || *v > 1 << 20) fail(origin, ct->get(k), k, "out of range");
      return static_cast<uint32_t>(*v);
    };
    cfg.threads = u32("threads");
    cfg.sockets = u32("sockets");
    cfg.cores = u32("cores");
    auto plain = [](std::string_view s, std::string_view what) { return parse_bandwidth(s, what); };
    cfg.prefill_flops = number_or_string(origin, *ct, "prefill_flops", plain);
    cfg.decode_bytes_per_s = number_or_string(origin, *ct, "decode_bytes_per_s", parse_bandwidth);
    cfg.attention_macs_per_s = number_or_string(origin, *ct, "attention_macs_per_s", plain);
    cfg.mla_attention_macs_per_s = number_or_string(origin, *ct, "mla_attention_macs_per_s", plain);
    cfg.per_layer_overhead_s = number_or_string(origin, *ct, "per_layer_overhead", parse_duration);
  }

  if (const toml::node* tn = root.get("tier")) {
    const toml::array* arr = tn->as_array();
    if (!arr) fail(origin, tn, "tier", "expected [[tier]] tables");
    for (const toml::node& item : *arr) {
      const toml::table* t = item.as_table();
      if (!t) fail(origin, &item, "tier", "expected [[tier]] tables");
      check_keys(origin, *t,
                 {"name", "kind", "remove", "capacity", "bandwidth", "seq_read", "random_4k", "latency", "peak",
                  "numa_node", "path", "mode", "near_cache", "near_cache_bandwidth", "link_bandwidth", "link_latency",
                  "compute_flops"},
                 "[[tier]]");
      TierOverride o;
      auto name = get_string(origin, *t, "name");
      if (!name || name->empty()) fail(origin, &item, "name", "every [[tier]] needs a name");
      o.name = *name;
      if (const toml::node* r = t->get("remove")) {
        auto b = r->value<bool>();
        if (!b) fail(origin, r, "remove", "expected true or false");
        o.remove = *b;
      }
      if (auto k = get_string(origin, *t, "kind")) {
        try {
          o.kind = parse_tier_kind(*k);
        } catch (const InputError& e) {
          fail(origin, t->get("kind"), "kind", e.what());
        }
      }
      o.capacity = number_or_string(origin, *t, "capacity", parse_bytes);
      o.near_cache_bytes = number_or_string(origin, *t, "near_cache", parse_bytes);
      o.stream_bw = number_or_string(origin, *t, "bandwidth", parse_bandwidth);
      o.seq_read_bw = number_or_string(origin, *t, "seq_read", parse_bandwidth);
      o.random_4k_bw = number_or_string(origin, *t, "random_4k", parse_bandwidth);
      o.peak_bw = number_or_string(origin, *t, "peak", parse_bandwidth);
      o.near_cache_bw = number_or_string(origin, *t, "near_cache_bandwidth", parse_bandwidth);
      o.link_bw = number_or_string(origin, *t, "link_bandwidth", parse_bandwidth);
      o.latency_s = number_or_string(origin, *t, "latency", parse_duration);
      o.link_latency_s = number_or_string(origin, *t, "link_latency", parse_duration);
      o.compute_flops = number_or_string(origin, *t, "compute_flops",
                                         [](std::string_view s, std::string_view w) { return parse_bandwidth(s, w); });
      if (auto n = get_int(origin, *t, "numa_node")) o.numa_node = static_cast<int>(*n);
      o.path = get_string(origin, *t, "path");
      o.mode = get_string(origin, *t, "mode");
      cfg.tiers.push_back(std::move(o));
    }
  }
  return cfg;
}

TierConfig load_tier_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read tier file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_tier_config(ss.str(), path);
}

void apply_tier_config(MachineProfile& p, const TierConfig& cfg) {
  if (cfg.threads) p.cpu.threads = *cfg.threads;
  if (cfg.sockets) p.cpu.sockets = *cfg.sockets;
  if (cfg.cores) p.cpu.cores = *cfg.cores;
  if (cfg.prefill_flops) p.cpu.prefill_flops = *cfg.prefill_flops;
  if (cfg.decode_bytes_per_s) p.cpu.decode_bytes_per_s = *cfg.decode_bytes_per_s;
  if (cfg.attention_macs_per_s) p.cpu.attention_macs_per_s = *cfg.attention_macs_per_s;
  if (cfg.mla_attention_macs_per_s) p.cpu.mla_attention_macs_per_s = *cfg.mla_attention_macs_per_s;
  if (cfg.per_layer_overhead_s) p.cpu.per_layer_overhead_s = *cfg.per_layer_overhead_s;
  for (const auto& o : cfg.tiers) {
    if (o.remove) {
      std::erase_if(p.tiers, [&](const TierSpec& t) { return t.name == o.name; });
      continue;
    }
    TierSpec* t = p.find(o.name);
    if (!t) {
      if (!o.kind) throw InputError(cfg.origin + ": new tier '" + o.name + "' needs a kind (gpu, dram, pmem, nvme, mmap)");
      TierSpec fresh;
      fresh.name = o.name;
      fresh.kind = *o.kind;
      p.tiers.push_back(fresh);
      t = &p.tiers.back();
    }
    if (o.kind) t->kind = *o.kind;
    if (o.capacity) t->capacity = *o.capacity;
    if (o.near_cache_bytes) t->near_cache_bytes = *o.near_cache_bytes;
    if (o.stream_bw) t->stream_bw = *o.stream_bw;
    if (o.seq_read_bw) t->seq_read_bw = *o.seq_read_bw;
    if (o.random_4k_bw) t->random_4k_bw = *o.random_4k_bw;
    if (o.peak_bw) t->peak_bw = *o.peak_bw;
    if (o.near_cache_bw) t->near_cache_bw = *o.near_cache_bw;
    if (o.link_bw) t->link_bw = *o.link_bw;
    if (o.latency_s) t->latency_s = *o.latency_s;
    if (o.link_latency_s) t->link_latency_s = *o.link_latency_s;
    if (o.compute_flops) t->compute_flops = *o.compute_flops;
    if (o.numa_node) t->numa_node = *o.numa_node;
    if (o.path) t->path = *o.path;
    if (o.mode) t->mode = *o.mode;
    t->source = "config: " + cfg.origin;
    make_tier(*t);  // validates: a tier with capacity must have the bandwidth its kind is read at
  }
}

}  // namespace strata
