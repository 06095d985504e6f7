// `strata probe --quick` end to end: the profile it writes carries the measured DRAM tier and the decode
// attention rates the planner uses for long contexts. No timing thresholds beyond "measured, positive":
// the machine running the tests may be busy.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.h"

namespace strata {
namespace {

TEST(ProbeCommand, QuickProfileHasTheAttentionRates) {
  const std::string out = test::temp_dir() + "/machine.json";
  const auto r = test::run_strata({"probe", "--quick", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("decode attention"), std::string::npos) << r.out;
  std::ifstream f(out);
  const auto j = nlohmann::json::parse(std::string(std::istreambuf_iterator<char>(f), {}));
  const auto& cpu = j.at("cpu");
  EXPECT_GT(cpu.at("attention_macs_per_s").get<double>(), 0);
  EXPECT_GT(cpu.at("mla_attention_macs_per_s").get<double>(), 0);
  bool dram = false;
  for (const auto& t : j.at("tiers")) dram |= t.at("kind") == "dram" && t.at("stream_bw").get<double>() > 0;
  EXPECT_TRUE(dram);
}

}  // namespace
}  // namespace strata
