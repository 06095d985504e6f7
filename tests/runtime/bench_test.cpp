// `strata bench` end to end on a tiny generated model: the JSON carries every figure, and the figures
// are consistent with each other. No timing thresholds: the machine running the tests may be busy.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "runtime/bench.h"
#include "test_support.h"

namespace strata {
namespace {

void expect_stat(const nlohmann::json& j, const char* key, size_t n) {
  SCOPED_TRACE(key);
  ASSERT_TRUE(j.contains(key));
  const auto& s = j.at(key);
  const double med = s.at("median"), lo = s.at("min"), hi = s.at("max");
  EXPECT_EQ(s.at("values").size(), n);
  EXPECT_GT(lo, 0);
  EXPECT_LE(lo, med);
  EXPECT_LE(med, hi);
  EXPECT_TRUE(std::isfinite(hi));
}

// Checks one depth's decode figures against each other; `cat` is the catalogue's bytes per token.
void expect_decode_consistent(const nlohmann::json& d, double cat, size_t reps) {
  for (const char* k : {"tok_s", "achieved_gb_s", "stream_gb_s", "efficiency"}) expect_stat(d, k, reps);
  // Bytes per token: the experts actually selected read exactly n_expert_used experts per layer, so the
  // measured figure equals the catalogue's estimate plus the KV reads.
  const double w = d.at("weight_bytes_per_token"), kv = d.at("kv_bytes_per_token");
  EXPECT_NEAR(w, cat, cat * 1e-9);
  EXPECT_GT(kv, 0);
  EXPECT_NEAR(d.at("bytes_per_token").get<double>(), w + kv, 1);
  // achieved = bytes/token x tok/s, and efficiency = achieved / STREAM, per rep.
  const auto& tg = d.at("tok_s").at("values");
  const auto& gb = d.at("achieved_gb_s").at("values");
  const auto& sb = d.at("stream_gb_s").at("values");
  const auto& ef = d.at("efficiency").at("values");
  for (size_t i = 0; i < tg.size(); ++i) {
    EXPECT_NEAR(gb[i].get<double>(), tg[i].get<double>() * d.at("bytes_per_token").get<double>() * 1e-9,
                gb[i].get<double>() * 1e-9);
    EXPECT_NEAR(ef[i].get<double>(), gb[i].get<double>() / sb[i].get<double>(), ef[i].get<double>() * 1e-9);
  }
  EXPECT_GT(d.at("predicted_tok_s").get<double>(), 0);
  EXPECT_GE(d.at("predicted_memory_only_tok_s").get<double>(), d.at("predicted_tok_s").get<double>());
}

TEST(BenchCommand, SynthJsonHasEveryFigure) {
  auto r = test::run_strata({"bench", "--synth", "tiny-qwen3moe", "-p", "16", "-n", "8", "-r", "3", "-t", "2",
                             "--stream-seconds", "0.05", "--stream-mib", "64", "--synth-dir", test::temp_dir(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("arch"), "qwen3moe");
  EXPECT_EQ(j.at("threads"), 2);
  EXPECT_EQ(j.at("n_prompt"), 16);
  EXPECT_EQ(j.at("n_gen"), 8);
  for (const char* k : {"prefill_tok_s", "prefill_gmac_s"}) expect_stat(j, k, 3);
  ASSERT_EQ(j.at("decode").size(), 1u);  // one depth, 0 by default
  const auto& d = j.at("decode")[0];
  EXPECT_EQ(d.at("depth"), 0);
  EXPECT_FALSE(d.contains("change_vs_first_depth"));
  expect_decode_consistent(d, j.at("catalogue_bytes_per_token"), 3);
  EXPECT_GT(j.at("pool_read_gb_s").get<double>(), 0);
  EXPECT_GT(j.at("kernel_decode_gb_s").get<double>(), 0);
  EXPECT_GT(j.at("attention_gmac_s").get<double>(), 0);
  EXPECT_GT(j.at("macs_per_prompt_token").get<double>(), 0);
  EXPECT_GE(j.at("int8_peak_gmac_s").get<double>(), 0);
  EXPECT_FALSE(j.at("isa").get<std::string>().empty());
}

TEST(BenchCommand, ScalarLevelAndDepthRun) {
  auto r = test::run_strata({"bench", "--synth", "tiny-llama", "-p", "0", "-n", "4", "-d", "20", "-r", "1", "-t", "1",
                             "--isa", "scalar", "--stream-seconds", "0.05", "--stream-mib", "64", "--synth-dir", test::temp_dir(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("isa"), "scalar");
  EXPECT_TRUE(j.at("prefill_tok_s").at("values").empty());
  ASSERT_EQ(j.at("decode").size(), 1u);
  EXPECT_EQ(j.at("decode")[0].at("depth"), 20);
  expect_stat(j.at("decode")[0], "tok_s", 1);
}

// Several depths: each rep decodes at every depth, and the change against the first depth is computed
// from the tok/s of the same rep.
TEST(BenchCommand, SeveralDepthsArePairedByRep) {
  auto r = test::run_strata({"bench", "--synth", "tiny-qwen3moe", "-p", "0", "-n", "4", "-d", "0,24", "-d", "12",
                             "-r", "2", "-t", "2", "--stream-seconds", "0.05", "--stream-mib", "64", "--synth-dir",
                             test::temp_dir(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& dec = j.at("decode");
  ASSERT_EQ(dec.size(), 3u);
  const double cat = j.at("catalogue_bytes_per_token");
  const int64_t depths[] = {0, 24, 12};
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(dec[i].at("depth"), depths[i]);
    expect_decode_consistent(dec[i], cat, 2);
    EXPECT_EQ(dec[i].contains("change_vs_first_depth"), i > 0);
  }
  // More context, more KV bytes per token.
  EXPECT_LT(dec[0].at("kv_bytes_per_token").get<double>(), dec[2].at("kv_bytes_per_token").get<double>());
  EXPECT_LT(dec[2].at("kv_bytes_per_token").get<double>(), dec[1].at("kv_bytes_per_token").get<double>());
  for (size_t i = 1; i < 3; ++i) {
    const auto& ch = dec[i].at("change_vs_first_depth").at("values");
    ASSERT_EQ(ch.size(), 2u);
    for (size_t rep = 0; rep < 2; ++rep)
      EXPECT_NEAR(ch[rep].get<double>(),
                  dec[i].at("tok_s").at("values")[rep].get<double>() / dec[0].at("tok_s").at("values")[rep].get<double>() - 1,
                  1e-12);
  }
  // The text form states the comparison.
  r = test::run_strata({"bench", "--synth", "tiny-qwen3moe", "-p", "0", "-n", "2", "-d", "0,8", "-r", "1", "-t", "1",
                        "--stream-seconds", "0.05", "--stream-mib", "64", "--synth-dir", test::temp_dir()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("decode tg2 at depth 8: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("vs depth 0, same reps: "), std::string::npos) << r.out;
}

TEST(BenchCommand, BadArgumentsExitCleanly) {
  auto r = test::run_strata({"bench", "-n", "4"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--synth"), std::string::npos) << r.err;
  r = test::run_strata({"bench", "--synth", "no-such-preset", "--synth-dir", test::temp_dir()});
  EXPECT_EQ(r.exit_code, 1);
  r = test::run_strata({"bench", "--synth", "tiny-llama", "-p", "0", "-n", "0", "--synth-dir", test::temp_dir()});
  EXPECT_EQ(r.exit_code, 1);
  r = test::run_strata({"bench", "--synth", "tiny-llama", "-d", "0,-5", "--synth-dir", test::temp_dir()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("depth"), std::string::npos) << r.err;
}

TEST(BenchStat, MedianMinMax) {
  const Stat s = make_stat({3, 1, 2, 10});
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 10);
  EXPECT_EQ(s.median, 2.5);
  EXPECT_EQ(s.values.size(), 4u);
}

}  // namespace
}  // namespace strata
