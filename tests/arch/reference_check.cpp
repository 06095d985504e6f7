#include "reference_check.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "cpu/kernels.h"
#include "ops/thread_pool.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "test_support.h"

namespace strata::test {

std::string ReferenceCase::model_path() const { return fixture_path("models/" + model + ".gguf"); }

ReferenceCase load_reference_case(const std::string& model, const std::string& seq) {
  ReferenceCase rc;
  rc.model = model;
  rc.seq = seq;
  rc.dir = fixture_path("reference/" + model);
  std::ifstream f(rc.file(".json"));
  if (!f) throw std::runtime_error("cannot open " + rc.file(".json"));
  nlohmann::json j = nlohmann::json::parse(f);
  rc.n_vocab = j.at("n_vocab").get<int>();
  rc.prompt = j.at("tokens").get<std::vector<int32_t>>();
  rc.greedy = j.at("greedy").at("tokens").get<std::vector<int32_t>>();
  rc.next_after_last = j.at("greedy").at("next_token_after_last").get<int32_t>();
  rc.prompt_argmax = j.at("prompt_rows").at("argmax").get<std::vector<int32_t>>();
  rc.prompt_top5_logits = j.at("prompt_rows").at("top5_logits").get<std::vector<std::vector<float>>>();
  rc.decode_argmax = j.at("greedy").at("decode_rows").at("argmax").get<std::vector<int32_t>>();
  rc.decode_top5_logits = j.at("greedy").at("decode_rows").at("top5_logits").get<std::vector<std::vector<float>>>();
  return rc;
}

std::vector<std::pair<std::string, std::string>> list_reference_cases(const std::vector<std::string>& prefixes) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string root = fixture_path("reference");
  if (root.empty()) return out;
  for (const auto& d : std::filesystem::directory_iterator(root)) {
    const std::string model = d.path().filename().string();
    bool match = false;
    for (const auto& p : prefixes) match = match || model.rfind(p, 0) == 0;
    if (!match) continue;
    for (const auto& f : std::filesystem::directory_iterator(d.path())) {
      const std::string name = f.path().filename().string();
      const std::string suffix = ".json";
      if (name.size() > suffix.size() && name.ends_with(suffix) && name.find('.') == name.size() - 5)
        out.emplace_back(model, name.substr(0, name.size() - 5));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

EngineRows run_engine(const ReferenceCase& rc, const EngineConfig& cfg) {
  auto model = Model::load(rc.model_path());
  EngineRows r;
  if (cfg.repack) {
    const cpu::KernelTable& best = cpu::select_kernels(cpu::select_isa(cpu::detect_cpu_features()));
    const InterleaveStats st = model->interleave_weights(best);
    r.repacked_tensors = st.tensors;
    r.copied_tensors = st.copied_tensors;
    for (const CatalogueEntry& e : model->catalogue().entries)
      if (e.cls == TensorClass::Router && e.n_dims >= 2) ++r.router_tensors;
  }
  ThreadPool pool(cfg.threads);
  SessionOptions so;
  so.n_ctx = 256;
  so.kv_type = cfg.kv_f32 ? TensorType::F32 : TensorType::F16;
  so.n_batch = cfg.n_batch;
  so.act_mode = cfg.quantized_activations ? ActivationMode::Quantized : ActivationMode::F32;
  Session s(*model, pool, so);
  auto lp = s.eval(rc.prompt, true);
  r.prompt.assign(lp.begin(), lp.end());
  for (int32_t t : rc.greedy) {
    auto l = s.eval(std::span<const int32_t>(&t, 1), false);
    r.decode.insert(r.decode.end(), l.begin(), l.end());
  }
  return r;
}

void expect_repack_keeps_results(const std::string& model, const std::string& seq, float per_row) {
  const ReferenceCase rc = load_reference_case(model, seq);
  const EngineRows plain = run_engine(rc, EngineConfig{.kv_f32 = false});
  const EngineRows f32 = run_engine(rc, EngineConfig{.kv_f32 = false, .repack = true});
  if (f32.repacked_tensors == 0) GTEST_SKIP() << "SKIPPED: no matrix of " << model << " interleaves on this CPU";
  EXPECT_TRUE(f32.prompt == plain.prompt && f32.decode == plain.decode)
      << model << "/" << seq << ": F32 path over interleaved rows";
  // Every router is streamed from its huge-page copy (and gave the same logits, above).
  EXPECT_GE(f32.copied_tensors, f32.router_tensors) << model << "/" << seq;
  const EngineRows q = run_engine(rc, EngineConfig{.kv_f32 = false, .quantized_activations = true, .repack = true});
  RowStats all = compare_rows(q.prompt, read_f32_file(rc.file(".logits.f32")), rc.n_vocab);
  const RowStats d = compare_rows(q.decode, read_f32_file(rc.file(".decode.f32")), rc.n_vocab);
  std::printf("[ repacked ] %s/%s %d tensors (%d copied); quant-act prompt max %.3g decode max %.3g\n",
              model.c_str(), seq.c_str(), q.repacked_tensors, q.copied_tensors, all.max, d.max);
  all.row_max.insert(all.row_max.end(), d.row_max.begin(), d.row_max.end());
  EXPECT_EQ(quantized_rule(all, per_row), "") << model << "/" << seq;
}

RowStats compare_rows(const std::vector<float>& a, const std::vector<float>& b, int n_vocab) {
  if (a.size() != b.size()) throw std::runtime_error("row count differs: " + std::to_string(a.size() / n_vocab) +
                                                     " vs " + std::to_string(b.size() / n_vocab));
  RowStats s;
  for (size_t r = 0; r < a.size() / n_vocab; ++r) {
    float m = 0;
    for (int i = 0; i < n_vocab; ++i) m = std::max(m, std::fabs(a[r * n_vocab + i] - b[r * n_vocab + i]));
    if (std::isnan(m)) m = INFINITY;
    s.row_max.push_back(m);
    s.max = std::max(s.max, m);
  }
  return s;
}

std::string quantized_rule(const RowStats& s, float per_row) {
  const size_t n = s.row_max.size();
  size_t above = 0;
  std::string worst;
  for (size_t r = 0; r < n; ++r) {
    if (s.row_max[r] > per_row) ++above;
    if (s.row_max[r] > 5.0f) worst += " row " + std::to_string(r) + " off by " + std::to_string(s.row_max[r]) + ";";
  }
  const size_t allowed = std::max<size_t>(3, n / 20);
  std::string msg;
  if (above > allowed)
    msg += std::to_string(above) + " of " + std::to_string(n) + " rows exceed " + std::to_string(per_row) +
           " (allowed " + std::to_string(allowed) + ");";
  return msg + worst;
}

std::string check_argmax(const std::vector<float>& ours, const std::vector<int32_t>& ref_argmax,
                         const std::vector<std::vector<float>>& ref_top5, int n_vocab, float tol, int* checked) {
  std::string fails;
  *checked = 0;
  for (size_t r = 0; r < ref_argmax.size(); ++r) {
    const float gap = ref_top5[r][0] - ref_top5[r][1];
    if (gap <= 2 * tol) continue;
    ++*checked;
    const int32_t a = argmax(std::span<const float>(ours.data() + r * n_vocab, n_vocab));
    if (a != ref_argmax[r])
      fails += " row " + std::to_string(r) + ": ours " + std::to_string(a) + " ref " + std::to_string(ref_argmax[r]) +
               " (gap " + std::to_string(gap) + ");";
  }
  return fails;
}

}  // namespace strata::test
