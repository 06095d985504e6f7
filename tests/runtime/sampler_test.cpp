#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "runtime/sampler.h"
#include "util/error.h"

namespace strata {
namespace {

TEST(Sampler, GreedyTakesTheLowestIdOnTies) {
  Sampler s(SamplerParams{.temperature = 0});
  std::vector<float> l = {1, 5, 5, 2};
  EXPECT_EQ(s.sample(l, {}), 1);
}

// argmax against the plain definition (first index of the largest non-NaN value), over lengths around
// its 16-lane blocks, with ties, -inf and NaNs placed in the blocks and in the tail.
TEST(Argmax, MatchesTheFirstLargestValue) {
  std::mt19937 g(3);
  std::uniform_int_distribution<int> level(0, 9);
  for (size_t n = 1; n <= 70; ++n)
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> v(n);
      for (auto& x : v) x = static_cast<float>(level(g));  // few levels: many ties
      if (trial % 3 == 1) v[g() % n] = std::numeric_limits<float>::quiet_NaN();
      if (trial % 4 == 2) v[g() % n] = -std::numeric_limits<float>::infinity();
      size_t want = n;
      for (size_t i = 0; i < n; ++i)
        if (!std::isnan(v[i]) && (want == n || v[i] > v[want])) want = i;
      EXPECT_EQ(argmax(v), static_cast<int32_t>(want == n ? 0 : want)) << "n " << n << " trial " << trial;
    }
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(argmax(std::vector<float>{nan, 1.0f, 2.0f}), 2);
  EXPECT_EQ(argmax(std::vector<float>{nan, nan}), 0);
  EXPECT_EQ(argmax(std::vector<float>{-inf, -inf, -inf}), 0);
  EXPECT_EQ(argmax(std::vector<float>{1.0f, inf, inf}), 1);
  EXPECT_EQ(argmax(std::vector<float>{}), 0);
}

TEST(Sampler, NonFiniteParametersAreInputErrors) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf}) {
    for (int field = 0; field < 6; ++field) {
      SamplerParams p;
      float* f[] = {&p.temperature, &p.top_p, &p.min_p, &p.repeat_penalty, &p.presence_penalty, &p.frequency_penalty};
      *f[field] = bad;
      const char* flag[] = {"--temp", "--top-p", "--min-p", "--repeat-penalty", "--presence-penalty",
                            "--frequency-penalty"};
      try {
        Sampler s(p);
        ADD_FAILURE() << flag[field] << " = " << bad << " was accepted";
      } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find(flag[field]), std::string::npos) << e.what();
      }
    }
  }
}

TEST(Sampler, SameSeedSameStream) {
  std::vector<float> l(50);
  for (size_t i = 0; i < l.size(); ++i) l[i] = static_cast<float>(i % 7) * 0.3f;
  SamplerParams p{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 42};
  Sampler a(p), b(p);
  std::vector<int32_t> ra, rb;
  for (int i = 0; i < 200; ++i) {
    ra.push_back(a.sample(l, {}));
    rb.push_back(b.sample(l, {}));
  }
  EXPECT_EQ(ra, rb);
  p.seed = 43;
  Sampler c(p);
  std::vector<int32_t> rc;
  for (int i = 0; i < 200; ++i) rc.push_back(c.sample(l, {}));
  EXPECT_NE(ra, rc);
}

TEST(Sampler, TopKTopPMinPRestrictTheCandidates) {
  std::vector<float> l = {3.0f, 2.9f, 1.0f, 0.0f, -1.0f};
  auto drawn = [&](SamplerParams p) {
    Sampler s(p);
    std::map<int32_t, int> seen;
    for (int i = 0; i < 2000; ++i) seen[s.sample(l, {})]++;
    return seen;
  };
  auto k2 = drawn({.temperature = 1.0f, .top_k = 2, .top_p = 1.0f, .min_p = 0.0f, .seed = 1});
  EXPECT_EQ(k2.size(), 2u);
  EXPECT_TRUE(k2.count(0) && k2.count(1));
  // p = softmax(l) ~ {0.474, 0.429, 0.064, 0.024, 0.009}: top-p 0.5 keeps two; min-p 0.2 (threshold
  // 0.095) keeps two, min-p 0.1 (threshold 0.047) keeps three.
  auto p5 = drawn({.temperature = 1.0f, .top_k = 0, .top_p = 0.5f, .min_p = 0.0f, .seed = 1});
  EXPECT_EQ(p5.size(), 2u);
  EXPECT_EQ(drawn({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.2f, .seed = 1}).size(), 2u);
  EXPECT_EQ(drawn({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.1f, .seed = 1}).size(), 3u);
  auto all = drawn({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 1});
  EXPECT_EQ(all.size(), 5u);
}

// Top-k over a large vocabulary with many tied logits (the one-pass heap and its skipped blocks): with
// top-p and min-p off and a huge temperature the k candidates are near-uniform, so enough draws see
// every one of them, and nothing else. The expected set is the first k of (logit desc, id asc).
TEST(Sampler, TopKKeepsTheKBestWithTiesToLowIds) {
  std::mt19937 g(5);
  std::uniform_int_distribution<int> level(0, 30);
  for (size_t n : {37u, 1000u, 5003u}) {
    std::vector<float> l(n);
    for (auto& x : l) x = static_cast<float>(level(g));
    l[n - 1] = 31.0f;  // the best in the scalar tail
    for (int32_t k : {1, 7, 40}) {
      std::vector<int32_t> ids(n);
      for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>(i);
      std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
      const std::set<int32_t> want(ids.begin(), ids.begin() + std::min<size_t>(k, n));  // k >= n: all
      Sampler s({.temperature = 1e6f, .top_k = k, .top_p = 1.0f, .min_p = 0.0f, .seed = 2});
      std::set<int32_t> seen;
      for (int i = 0; i < 100 * k; ++i) seen.insert(s.sample(l, {}));
      EXPECT_EQ(seen, want) << "n " << n << " k " << k;
    }
  }
}

TEST(Sampler, PenaltiesFollowLlamaCpp) {
  std::vector<float> l = {2.0f, 1.9f, -1.0f};
  std::vector<int32_t> recent = {0, 0};
  // Repetition: positive logits divided (2.0 / 1.2 = 1.67 < 1.9), so greedy switches to token 1.
  EXPECT_EQ(Sampler({.temperature = 0, .repeat_penalty = 1.2f}).sample(l, recent), 1);
  // Frequency: 2.0 - 2 * 0.06 = 1.88 < 1.9.
  EXPECT_EQ(Sampler({.temperature = 0, .frequency_penalty = 0.06f}).sample(l, recent), 1);
  // Presence: subtracted once: 2.0 - 0.06 = 1.94 > 1.9.
  EXPECT_EQ(Sampler({.temperature = 0, .presence_penalty = 0.06f}).sample(l, recent), 0);
  // Only the last penalty_last_n tokens count.
  std::vector<int32_t> old = {0, 2};
  EXPECT_EQ(Sampler({.temperature = 0, .repeat_penalty = 1.2f, .penalty_last_n = 1}).sample(l, old), 0);
  EXPECT_THROW(Sampler({.repeat_penalty = 0.0f}), InputError);
}

}  // namespace
}  // namespace strata
