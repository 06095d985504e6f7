// The session and `strata run` end to end on the fixture models.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "ops/thread_pool.h"
#include "runtime/generate.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "test_support.h"

namespace strata {
namespace {

std::vector<int32_t> json_ints(const std::string& path, const char* a, const char* b = nullptr) {
  std::ifstream f(path);
  auto j = nlohmann::json::parse(f);
  return (b ? j.at(a).at(b) : j.at(a)).get<std::vector<int32_t>>();
}

// stories260K (a real trained model) must tell the reference's greedy story, free-running with the
// default F16 cache: every one of the 64 greedy tokens.
TEST(Generate, Stories260KTellsTheReferenceStory) {
  STRATA_FIXTURE_OR_SKIP(path, "models/stories260K.gguf");
  STRATA_FIXTURE_OR_SKIP(ref, "reference/stories260K/once-upon-a-time.json");
  const auto prompt = json_ints(ref, "tokens");
  const auto want = json_ints(ref, "greedy", "tokens");
  auto model = Model::load(path);
  ThreadPool pool(2);
  Session s(*model, pool, SessionOptions{.n_ctx = 256});
  Sampler greedy(SamplerParams{.temperature = 0});
  GenerateOptions o;
  o.n_predict = static_cast<int64_t>(want.size());
  GenerateResult r = generate(s, greedy, prompt, o);
  EXPECT_EQ(r.tokens, want);
}

TEST(Generate, RefusesRunsThatDoNotFitTheContext) {
  STRATA_FIXTURE_OR_SKIP(path, "models/stories260K.gguf");
  auto model = Model::load(path);
  ThreadPool pool(1);
  Session s(*model, pool, SessionOptions{.n_ctx = 16});
  Sampler greedy(SamplerParams{.temperature = 0});
  std::vector<int32_t> prompt = {1, 403, 407};
  GenerateOptions o;
  o.n_predict = 14;
  EXPECT_THROW(generate(s, greedy, prompt, o), InputError);
  EXPECT_EQ(s.n_past(), 0);
}

TEST(RunCommand, StreamsTheStoryAndReportsSpeed) {
  STRATA_FIXTURE_OR_SKIP(path, "models/stories260K.gguf");
  auto r = test::run_strata({"run", "-m", path, "-p", "Once upon a time", "-n", "24", "--temp", "0", "-t", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Once upon a time, there was a little girl named Lily"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << r.err;
}

// --logits-out of a forced-token run reproduces the fixture layout: prompt rows, then one row per
// decoded token. Compared with the exact file at the F32-cache tolerance (fixtures README: 1e-4).
TEST(RunCommand, LogitsOutHasTheFixtureLayout) {
  STRATA_FIXTURE_OR_SKIP(path, "models/llama-dense.gguf");
  STRATA_FIXTURE_OR_SKIP(ref, "reference/llama-dense/seq16.json");
  const auto prompt = json_ints(ref, "tokens");
  std::string ids;
  for (int32_t t : prompt) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  const std::string out = test::temp_dir() + "/logits.f32";
  auto r = test::run_strata({"run", "-m", path, "--tokens", ids, "-n", "16", "--temp", "0", "--kv-type", "f32",
                             "--logits-out", out, "-t", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = test::read_f32_file(out);
  auto want = test::read_f32_file(test::fixture_path("reference/llama-dense/seq16.exact.logits.f32"));
  auto dec = test::read_f32_file(test::fixture_path("reference/llama-dense/seq16.exact.decode.f32"));
  want.insert(want.end(), dec.begin(), dec.end());
  ASSERT_EQ(got.size(), want.size());
  float m = 0;
  for (size_t i = 0; i < got.size(); ++i) m = std::max(m, std::fabs(got[i] - want[i]));
  EXPECT_LE(m, 1e-4f);
}

// --kv-type q8_0 runs (numerics: tests/arch Q8_0CacheMatchesTheQuantizedFloat64Forward); an unknown
// type is named in the error.
TEST(RunCommand, KvTypeQ8_0AndUnknownTypes) {
  STRATA_FIXTURE_OR_SKIP(path, "models/llama-dense.gguf");
  auto r = test::run_strata({"run", "-m", path, "--tokens", "1,2,3", "-n", "4", "--temp", "0", "--kv-type", "q8_0",
                             "-t", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = test::run_strata({"run", "-m", path, "--tokens", "1,2,3", "-n", "4", "--kv-type", "q4_0", "-t", "1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--kv-type must be f16, f32 or q8_0, got 'q4_0'"), std::string::npos) << r.err;
}

TEST(RunCommand, RecordsExpertUsage) {
  STRATA_FIXTURE_OR_SKIP(path, "models/qwen3moe.gguf");
  const std::string out = test::temp_dir() + "/usage.json";
  auto r = test::run_strata({"run", "-m", path, "--tokens", "509,227,365", "-n", "5", "--seed", "3",
                             "--record-usage", out, "-t", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream f(out);
  auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j.at("n_layer"), 2);
  EXPECT_EQ(j.at("n_expert"), 8);
  ASSERT_EQ(j.at("counts").size(), 2u);
  // 3 prompt tokens + 4 evaluated generated tokens (the last one is never evaluated), top-4 each.
  for (const auto& layer : j.at("counts")) {
    uint64_t sum = 0;
    for (const auto& c : layer) sum += c.get<uint64_t>();
    EXPECT_EQ(sum, 7u * 4u);
  }
}

// --dump-dir writes every named activation, rows appended per evaluated position, and the residual
// after each layer equals the fixture's exact.hidden slice (same F32 tolerance as the logits).
TEST(RunCommand, DumpDirHoldsNamedActivations) {
  STRATA_FIXTURE_OR_SKIP(path, "models/llama-dense.gguf");
  STRATA_FIXTURE_OR_SKIP(ref, "reference/llama-dense/seq16.json");
  const auto prompt = json_ints(ref, "tokens");
  const auto greedy = json_ints(ref, "greedy", "tokens");
  std::string ids;
  for (int32_t t : prompt) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  const std::string dir = test::temp_dir() + "/dump";
  auto r = test::run_strata({"run", "-m", path, "--tokens", ids, "-n", std::to_string(greedy.size()), "--temp", "0",
                             "--kv-type", "f32", "--dump-dir", dir, "--logits-out", dir + "/l.f32", "-t", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t n_pos = prompt.size() + greedy.size();
  EXPECT_EQ(test::read_f32_file(dir + "/blk.0.q.f32").size(), n_pos * 256);
  auto hidden = test::read_f32_file(test::fixture_path("reference/llama-dense/seq16.exact.hidden.f32"));
  ASSERT_EQ(hidden.size(), 3 * n_pos * 256);
  for (int l = 0; l < 2; ++l) {
    auto got = test::read_f32_file(dir + "/blk." + std::to_string(l) + ".l_out.f32");
    ASSERT_EQ(got.size(), n_pos * 256);
    float m = 0;
    for (size_t i = 0; i < got.size(); ++i) m = std::max(m, std::fabs(got[i] - hidden[(l + 1) * n_pos * 256 + i]));
    EXPECT_LE(m, 1e-4f) << "layer " << l;
  }
}

TEST(RunCommand, ClearErrorsForBadRequests) {
  STRATA_FIXTURE_OR_SKIP(path, "models/llama-dense.gguf");
  auto r = test::run_strata({"run", "-m", path, "--tokens", "1,2,9999", "-n", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("9999"), std::string::npos) << r.err;
  r = test::run_strata({"run", "-m", path, "--tokens", "1,2,3", "-n", "100", "-c", "50"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("context"), std::string::npos) << r.err;
  r = test::run_strata({"run", "-m", path, "--tokens", "1,x", "-n", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("'x'"), std::string::npos) << r.err;
  r = test::run_strata({"run", "-m", path, "-p", "hi", "-c", "100000000", "-n", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("KV cache"), std::string::npos) << r.err;
  r = test::run_strata({"run", "-m", "/nonexistent.gguf", "-p", "hi"});
  EXPECT_EQ(r.exit_code, 1);
}

}  // namespace
}  // namespace strata
