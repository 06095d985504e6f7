#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "util/error.h"

namespace strata {

namespace {

typedef float F4 __attribute__((vector_size(16)));
constexpr size_t kVecs = 4, kLanes = 4 * kVecs;

// The largest of p[0..16) (NaNs ignored; -inf if all are NaN).
float block_max16(const float* p) {
  const float ninf = -INFINITY;
  F4 acc = {ninf, ninf, ninf, ninf};
  for (size_t j = 0; j < kVecs; ++j) {
    F4 x;
    std::memcpy(&x, p + 4 * j, sizeof x);
    acc = x > acc ? x : acc;
  }
  float m = ninf;
  for (int l = 0; l < 4; ++l) m = acc[l] > m ? acc[l] : m;
  return m;
}

}  // namespace

// Two passes: the largest value over 16 independent lanes (GCC vector types: one maxps per 4 lanes on
// any x86-64), then the first index holding it. A compare-and-branch loop carrying the best index took
// 565 us at a 152k vocabulary, 3% of a decoded token; this takes ~22 us. NaNs never win (a NaN compares
// false, so the lane keeps its value); all-NaN input gives 0.
int32_t argmax(std::span<const float> v) {
  const size_t n = v.size();
  const float ninf = -INFINITY;
  F4 acc[kVecs];
  for (auto& a : acc) a = F4{ninf, ninf, ninf, ninf};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (size_t j = 0; j < kVecs; ++j) {
      F4 x;
      std::memcpy(&x, v.data() + i + 4 * j, sizeof x);
      acc[j] = x > acc[j] ? x : acc[j];
    }
  float m = ninf;
  for (; i < n; ++i) m = v[i] > m ? v[i] : m;
  for (const F4& a : acc)
    for (int l = 0; l < 4; ++l) m = a[l] > m ? a[l] : m;
  typedef int32_t I4 __attribute__((vector_size(16)));
  const F4 mv = {m, m, m, m};
  size_t k = 0;
  for (; k + kLanes <= n; k += kLanes) {  // skip blocks without m, 16 values per test
    I4 hit = {0, 0, 0, 0};
    for (size_t j = 0; j < kVecs; ++j) {
      F4 x;
      std::memcpy(&x, v.data() + k + 4 * j, sizeof x);
      hit |= x == mv;
    }
    if (hit[0] | hit[1] | hit[2] | hit[3]) break;
  }
  for (; k < n; ++k)
    if (v[k] == m) return static_cast<int32_t>(k);
  return 0;
}

Sampler::Sampler(SamplerParams p) : p_(p), rng_(p.seed) {
  // NaN passes every comparison below and then poisons each probability, so it is named here.
  const std::pair<const char*, float> finite[] = {{"--temp", p_.temperature},
                                                   {"--top-p", p_.top_p},
                                                   {"--min-p", p_.min_p},
                                                   {"--repeat-penalty", p_.repeat_penalty},
                                                   {"--presence-penalty", p_.presence_penalty},
                                                   {"--frequency-penalty", p_.frequency_penalty}};
  for (const auto& [flag, v] : finite)
    if (!std::isfinite(v)) throw InputError(std::string(flag) + " must be a finite number, got " + std::to_string(v));
  if (p_.repeat_penalty <= 0) throw InputError("--repeat-penalty must be > 0");
  if (p_.top_p <= 0) throw InputError("--top-p must be > 0");
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> recent) {
  const size_t n = logits.size();
  work_.assign(logits.begin(), logits.end());

  const bool penalize = p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f;
  if (penalize && p_.penalty_last_n != 0 && !recent.empty()) {
    const size_t last = p_.penalty_last_n < 0 ? recent.size()
                                              : std::min(recent.size(), static_cast<size_t>(p_.penalty_last_n));
    counts_.assign(n, 0);
    for (size_t i = recent.size() - last; i < recent.size(); ++i)
      if (recent[i] >= 0 && static_cast<size_t>(recent[i]) < n) ++counts_[recent[i]];
    for (size_t t = 0; t < n; ++t) {
      if (!counts_[t]) continue;
      float& l = work_[t];
      l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
      l -= static_cast<float>(counts_[t]) * p_.frequency_penalty + p_.presence_penalty;
    }
  }
  if (p_.temperature <= 0.0f) return argmax(work_);

  auto by_logit = [](const Cand& a, const Cand& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
    // The k best in a heap whose top is the worst of them, filled in one pass over the logits: almost
    // every logit of a large vocabulary loses to that top at a glance (a partial_sort of every
    // candidate took 470 us a token at 152k logits). Ids arrive in increasing order, so a logit equal
    // to the top's never displaces it, as the tie rule wants.
    const size_t k = static_cast<size_t>(p_.top_k);
    cands_.resize(k);
    for (size_t t = 0; t < k; ++t) cands_[t] = Cand{static_cast<int32_t>(t), work_[t], 0.0f};
    std::make_heap(cands_.begin(), cands_.end(), by_logit);
    auto offer = [&](size_t t) {
      if (!(work_[t] > cands_.front().logit)) return;
      std::pop_heap(cands_.begin(), cands_.end(), by_logit);
      cands_.back() = Cand{static_cast<int32_t>(t), work_[t], 0.0f};
      std::push_heap(cands_.begin(), cands_.end(), by_logit);
    };
    size_t t = k;
    for (; t + kLanes <= n; t += kLanes)  // blocks whose largest logit cannot enter are skipped whole
      if (block_max16(work_.data() + t) > cands_.front().logit)
        for (size_t j = t; j < t + kLanes; ++j) offer(j);
    for (; t < n; ++t) offer(t);
    std::sort_heap(cands_.begin(), cands_.end(), by_logit);
  } else {
    cands_.resize(n);
    for (size_t t = 0; t < n; ++t) cands_[t] = Cand{static_cast<int32_t>(t), work_[t], 0.0f};
    std::sort(cands_.begin(), cands_.end(), by_logit);
  }

  auto softmax_cands = [&](float temp) {
    const float mx = cands_[0].logit;
    double sum = 0;
    for (auto& c : cands_) {
      c.p = std::exp((c.logit - mx) / temp);
      sum += c.p;
    }
    for (auto& c : cands_) c.p = static_cast<float>(c.p / sum);
  };

  softmax_cands(1.0f);
  if (p_.top_p < 1.0f) {
    double cum = 0;
    size_t k = 0;
    while (k < cands_.size()) {
      cum += cands_[k].p;
      ++k;
      if (cum >= p_.top_p) break;
    }
    cands_.resize(std::max<size_t>(1, k));
  }
  if (p_.min_p > 0.0f) {
    const float thr = cands_[0].p * p_.min_p;
    size_t k = 1;
    while (k < cands_.size() && cands_[k].p >= thr) ++k;
    cands_.resize(k);
  }

  softmax_cands(p_.temperature);
  // A uniform draw from the raw 64-bit stream (not std::uniform_real_distribution, whose algorithm
  // is implementation-defined) keeps a seed's output identical across standard libraries.
  const double u = static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0);
  double cum = 0;
  for (const auto& c : cands_) {
    cum += c.p;
    if (u < cum) return c.id;
  }
  return cands_.back().id;
}

}  // namespace strata
