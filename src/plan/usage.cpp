#include "plan/usage.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "util/error.h"
#include "util/json_number.h"

namespace strata {

UsageProfile make_usage(uint32_t n_layer, uint32_t n_expert) {
  UsageProfile u;
  u.n_layer = n_layer;
  u.n_expert = n_expert;
  u.counts.assign(n_layer, std::vector<uint64_t>(n_expert, 0));
  return u;
}

UsageProfile usage_from_json(const std::string& text, const std::string& origin) {
  UsageProfile u;
  try {
    auto j = nlohmann::json::parse(text);
    u.n_layer = json_at<uint32_t>(j, "n_layer");
    u.n_expert = json_at<uint32_t>(j, "n_expert");
    const auto& rows = j.at("counts");
    if (!rows.is_array() || rows.size() != u.n_layer) {
      throw FormatError(origin, 0, "counts", "expected " + std::to_string(u.n_layer) + " rows (one per layer)");
    }
    for (size_t l = 0; l < rows.size(); ++l) {
      auto row = json_vector<uint64_t>(rows[l], "counts[" + std::to_string(l) + "]");
      if (row.size() != u.n_expert) {
        throw FormatError(origin, 0, "counts[" + std::to_string(l) + "]",
                          "expected " + std::to_string(u.n_expert) + " counts, got " + std::to_string(row.size()));
      }
      u.counts.push_back(std::move(row));
    }
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(origin, 0, "json", e.what());
  } catch (const InputError& e) {
    throw FormatError(origin, 0, "usage", e.what());
  }
  return u;
}

std::string usage_to_json(const UsageProfile& u) {
  nlohmann::json j;
  j["n_layer"] = u.n_layer;
  j["n_expert"] = u.n_expert;
  j["counts"] = u.counts;
  return j.dump() + "\n";
}

UsageProfile load_usage(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("cannot read usage profile " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return usage_from_json(ss.str(), path);
}

void save_usage(const UsageProfile& u, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw Error("cannot write usage profile " + path);
  out << usage_to_json(u);
}

void merge_usage(UsageProfile& into, const UsageProfile& other) {
  if (into.n_layer == 0 && into.n_expert == 0) {
    into = other;
    return;
  }
  if (into.n_layer != other.n_layer || into.n_expert != other.n_expert) {
    throw InputError("usage profiles of different models: " + std::to_string(into.n_layer) + "x" +
                     std::to_string(into.n_expert) + " vs " + std::to_string(other.n_layer) + "x" +
                     std::to_string(other.n_expert) + " (layers x experts)");
  }
  for (uint32_t l = 0; l < into.n_layer; ++l) {
    for (uint32_t e = 0; e < into.n_expert; ++e) into.counts[l][e] += other.counts[l][e];
  }
}

double expert_probability(const UsageProfile* u, uint32_t layer, uint32_t expert, uint32_t n_expert,
                          uint32_t n_used) {
  const double uniform = n_expert ? std::min(1.0, static_cast<double>(n_used) / n_expert) : 0.0;
  if (!u || layer >= u->n_layer || u->n_expert != n_expert || n_used == 0) return uniform;
  const auto& row = u->counts[layer];
  const double total = static_cast<double>(std::accumulate(row.begin(), row.end(), uint64_t{0}));
  if (total <= 0) return uniform;
  const double tokens = total / n_used;
  return std::min(1.0, static_cast<double>(row[expert]) / tokens);
}

}  // namespace strata
