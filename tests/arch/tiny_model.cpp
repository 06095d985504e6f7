#include "tiny_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "model/hparams.h"
#include "quant/legacy.h"
#include "util/fp16.h"

namespace strata::test {
namespace {

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<float> gaussian(uint64_t seed, size_t n, double mean, double sd) {
  std::vector<float> v(n);
  uint64_t s = seed;
  for (size_t i = 0; i < n; ++i) {
    double u1 = (static_cast<double>(splitmix(s) >> 11) + 0.5) * 0x1.0p-53;
    double u2 = static_cast<double>(splitmix(s) >> 11) * 0x1.0p-53;
    v[i] = static_cast<float>(mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2));
  }
  return v;
}

uint64_t name_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

std::string write_tiny_model(const TinySpec& sp, const std::string& path) {
  GgufWriter w(sp.alignment);
  const std::string a = sp.arch;
  auto key = [&](const std::string& k, GgufValue v) {
    if (!sp.drop_keys.count(k)) w.set(k, std::move(v));
  };
  key("general.architecture", GgufValue::str(sp.arch_name_override.empty() ? a : sp.arch_name_override));
  key("general.name", GgufValue::str("tiny-" + a));
  key(a + ".vocab_size", GgufValue::u32(sp.n_vocab));
  key(a + ".context_length", GgufValue::u32(sp.n_ctx));
  key(a + ".embedding_length", GgufValue::u32(sp.n_embd));
  key(a + ".block_count", GgufValue::u32(sp.n_layer));
  key(a + ".feed_forward_length", GgufValue::u32(sp.n_ff));
  key(a + ".attention.head_count", GgufValue::u32(sp.n_head));
  key(a + ".attention.head_count_kv", GgufValue::u32(sp.n_head_kv));
  key(a + ".attention.key_length", GgufValue::u32(sp.head_dim));
  key(a + ".attention.value_length", GgufValue::u32(sp.head_dim));
  key(a + ".attention.layer_norm_rms_epsilon", GgufValue::f32(sp.eps));
  key(a + ".rope.dimension_count", GgufValue::u32(sp.n_rot ? sp.n_rot : sp.head_dim));
  key(a + ".rope.freq_base", GgufValue::f32(sp.rope_base));
  if (sp.n_expert > 0) {
    key(a + ".expert_count", GgufValue::u32(sp.n_expert));
    key(a + ".expert_used_count", GgufValue::u32(sp.n_expert_used));
    key(a + ".expert_feed_forward_length", GgufValue::u32(sp.n_ff_exp));
  }

  for (const auto& [k, v] : sp.set_u32) w.set(k, GgufValue::u32(v));

  auto tensor = [&](const std::string& name, std::vector<int64_t> ne, bool matrix, double mean, double sd) {
    if (sp.drop_tensors.count(name)) return;
    size_t n = 1;
    for (int64_t d : ne) n *= static_cast<size_t>(d);
    std::vector<float> vals = gaussian(name_seed(sp.seed, name), n, mean, sd);
    TensorType t = matrix ? sp.mat_type : TensorType::F32;
    if (auto it = sp.retype.find(name); it != sp.retype.end()) t = it->second;
    if (auto it = sp.reshape.find(name); it != sp.reshape.end()) {
      ne = it->second;
      n = 1;
      for (int64_t d : ne) n *= static_cast<size_t>(d);
      vals = gaussian(name_seed(sp.seed, name), n, mean, sd);
    }
    const TypeTraits& tt = type_traits(t);
    std::vector<uint8_t> bytes(row_bytes(tt, ne[0]) * (n / ne[0]));
    if (t == TensorType::F32) {
      std::memcpy(bytes.data(), vals.data(), n * 4);
    } else if (tt.quantize) {
      tt.quantize(vals.data(), bytes.data(), static_cast<int64_t>(n));
    } else {
      // A type without a quantizer (the unsupported-type tests): the bytes do not matter.
      std::fill(bytes.begin(), bytes.end(), uint8_t{0});
    }
    w.add_tensor(name, ne, t, bytes);
  };

  const int64_t E = sp.n_embd, V = sp.n_vocab, hd = sp.head_dim;
  tensor("token_embd.weight", {E, V}, true, 0, 1);
  for (int64_t l = 0; l < sp.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    tensor(p + "attn_norm.weight", {E}, false, 1, 0.1);
    tensor(p + "attn_q.weight", {E, sp.n_head * hd}, true, 0, 1 / std::sqrt(double(E)));
    tensor(p + "attn_k.weight", {E, sp.n_head_kv * hd}, true, 0, 1 / std::sqrt(double(E)));
    tensor(p + "attn_v.weight", {E, sp.n_head_kv * hd}, true, 0, 1 / std::sqrt(double(E)));
    if (a == "qwen3moe") {
      tensor(p + "attn_q_norm.weight", {hd}, false, 1, 0.1);
      tensor(p + "attn_k_norm.weight", {hd}, false, 1, 0.1);
    }
    tensor(p + "attn_output.weight", {sp.n_head * hd, E}, true, 0, 1 / std::sqrt(double(sp.n_head * hd)));
    tensor(p + "ffn_norm.weight", {E}, false, 1, 0.1);
    if (sp.n_expert > 0) {
      const int64_t F = sp.n_ff_exp, X = sp.n_expert;
      tensor(p + "ffn_gate_inp.weight", {E, X}, false, 0, 1 / std::sqrt(double(E)));
      if (sp.fused_gate_up) {
        tensor(p + "ffn_gate_up_exps.weight", {E, 2 * F, X}, true, 0, 1 / std::sqrt(double(E)));
      } else {
        tensor(p + "ffn_gate_exps.weight", {E, F, X}, true, 0, 1 / std::sqrt(double(E)));
        tensor(p + "ffn_up_exps.weight", {E, F, X}, true, 0, 1 / std::sqrt(double(E)));
      }
      tensor(p + "ffn_down_exps.weight", {F, E, X}, true, 0, 1 / std::sqrt(double(F)));
    } else {
      tensor(p + "ffn_gate.weight", {E, sp.n_ff}, true, 0, 1 / std::sqrt(double(E)));
      tensor(p + "ffn_up.weight", {E, sp.n_ff}, true, 0, 1 / std::sqrt(double(E)));
      tensor(p + "ffn_down.weight", {sp.n_ff, E}, true, 0, 1 / std::sqrt(double(sp.n_ff)));
    }
  }
  tensor("output_norm.weight", {E}, false, 1, 0.1);
  if (!sp.tied_output) tensor("output.weight", {E, V}, true, 0, 2.5 / std::sqrt(double(E)));
  w.write(path);
  return path;
}

namespace {

struct Dense {
  std::vector<double> v;
  std::array<int64_t, 4> ne{};
  const double* row(int64_t r) const { return v.data() + r * ne[0]; }
};

Dense load(const GgufModel& m, const std::string& name) {
  const GgufTensorInfo* t = m.find_tensor(name);
  if (!t) throw std::runtime_error("naive_forward: missing " + name);
  std::vector<float> f(t->nelements());
  if (t->traits->type == TensorType::F32) std::memcpy(f.data(), t->data, f.size() * 4);
  else t->traits->dequantize(t->data, f.data(), static_cast<int64_t>(f.size()));
  return Dense{std::vector<double>(f.begin(), f.end()), t->ne};
}

bool has(const GgufModel& m, const std::string& name) { return m.find_tensor(name) != nullptr; }

std::vector<double> matvec(const Dense& w, const std::vector<double>& x, int64_t row0 = 0, int64_t n_rows = -1) {
  if (n_rows < 0) n_rows = w.ne[1] * w.ne[2];
  std::vector<double> y(n_rows);
  for (int64_t r = 0; r < n_rows; ++r) {
    const double* wr = w.row(row0 + r);
    double s = 0;
    for (int64_t c = 0; c < w.ne[0]; ++c) s += wr[c] * x[c];
    y[r] = s;
  }
  return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const double* w, double eps, size_t off = 0, size_t n = 0) {
  if (!n) n = x.size();
  double ss = 0;
  for (size_t i = 0; i < n; ++i) ss += x[off + i] * x[off + i];
  const double s = 1.0 / std::sqrt(ss / n + eps);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = x[off + i] * s * w[i];
  return y;
}

void rope(double* v, int64_t n_rot, int64_t pos, double base, bool neox) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const double th = pos * std::pow(base, -2.0 * i / n_rot);
    const int64_t a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
    const double x0 = v[a], x1 = v[b];
    v[a] = x0 * std::cos(th) - x1 * std::sin(th);
    v[b] = x0 * std::sin(th) + x1 * std::cos(th);
  }
}

double silu(double z) { return z / (1 + std::exp(-z)); }

// A K or V row as a cache of type t holds it: F16 rounding, or Q8_0 blocks of 32 along the row.
void round_as_cache(std::vector<double>& row, TensorType t) {
  if (t == TensorType::F32) return;
  std::vector<float> f(row.begin(), row.end());
  if (t == TensorType::F16) {
    for (float& x : f) x = fp16_to_fp32(fp32_to_fp16(x));
  } else {
    std::vector<uint8_t> q(f.size() / 32 * 34);
    quant::quantize_q8_0(f.data(), q.data(), static_cast<int64_t>(f.size()));
    quant::dequantize_q8_0(q.data(), f.data(), static_cast<int64_t>(f.size()));
  }
  std::copy(f.begin(), f.end(), row.begin());
}

}  // namespace

std::vector<float> naive_forward(const std::string& path, const std::vector<int32_t>& tokens, double* min_margin,
                                 TensorType kv_type) {
  GgufModel m = GgufModel::open(path);
  HParams hp = read_hparams(m);
  const bool qwen = hp.arch == "qwen3moe";
  const int64_t E = hp.n_embd, H = hp.n_head, Hkv = hp.n_head_kv, hd = hp.head_dim_k, T = tokens.size();
  const Dense emb = load(m, "token_embd.weight");
  const Dense out = has(m, "output.weight") ? load(m, "output.weight") : emb;
  const Dense onorm = load(m, "output_norm.weight");
  if (min_margin) *min_margin = INFINITY;

  std::vector<std::vector<double>> h(T);
  for (int64_t t = 0; t < T; ++t) h[t].assign(emb.row(tokens[t]), emb.row(tokens[t]) + E);

  for (uint32_t l = 0; l < hp.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const Dense an = load(m, p + "attn_norm.weight"), wq = load(m, p + "attn_q.weight"),
                wk = load(m, p + "attn_k.weight"), wv = load(m, p + "attn_v.weight"),
                wo = load(m, p + "attn_output.weight"), fn = load(m, p + "ffn_norm.weight");
    std::vector<std::vector<double>> q(T), k(T), v(T);
    for (int64_t t = 0; t < T; ++t) {
      auto x = rmsnorm(h[t], an.v.data(), hp.rms_eps);
      q[t] = matvec(wq, x);
      k[t] = matvec(wk, x);
      v[t] = matvec(wv, x);
      if (qwen) {
        const Dense qn = load(m, p + "attn_q_norm.weight"), kn = load(m, p + "attn_k_norm.weight");
        for (int64_t hh = 0; hh < H; ++hh) {
          auto y = rmsnorm(q[t], qn.v.data(), hp.rms_eps, hh * hd, hd);
          std::copy(y.begin(), y.end(), q[t].begin() + hh * hd);
        }
        for (int64_t hh = 0; hh < Hkv; ++hh) {
          auto y = rmsnorm(k[t], kn.v.data(), hp.rms_eps, hh * hd, hd);
          std::copy(y.begin(), y.end(), k[t].begin() + hh * hd);
        }
      }
      for (int64_t hh = 0; hh < H; ++hh) rope(q[t].data() + hh * hd, hp.n_rot, t, hp.rope_freq_base, qwen);
      for (int64_t hh = 0; hh < Hkv; ++hh) rope(k[t].data() + hh * hd, hp.n_rot, t, hp.rope_freq_base, qwen);
      round_as_cache(k[t], kv_type);
      round_as_cache(v[t], kv_type);
    }
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> att(H * hd, 0.0);
      for (int64_t hh = 0; hh < H; ++hh) {
        const int64_t g = hh / (H / Hkv);
        std::vector<double> s(t + 1);
        double mx = -INFINITY;
        for (int64_t j = 0; j <= t; ++j) {
          double d = 0;
          for (int64_t i = 0; i < hd; ++i) d += q[t][hh * hd + i] * k[j][g * hd + i];
          s[j] = d / std::sqrt(double(hd));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (auto& x : s) sum += (x = std::exp(x - mx));
        for (int64_t j = 0; j <= t; ++j)
          for (int64_t i = 0; i < hd; ++i) att[hh * hd + i] += s[j] / sum * v[j][g * hd + i];
      }
      auto o = matvec(wo, att);
      for (int64_t i = 0; i < E; ++i) h[t][i] += o[i];
    }
    // FFN
    const bool moe = hp.n_expert > 0;
    Dense gate, up, down, gate_up, router;
    if (moe) {
      router = load(m, p + "ffn_gate_inp.weight");
      if (has(m, p + "ffn_gate_up_exps.weight")) gate_up = load(m, p + "ffn_gate_up_exps.weight");
      else { gate = load(m, p + "ffn_gate_exps.weight"); up = load(m, p + "ffn_up_exps.weight"); }
      down = load(m, p + "ffn_down_exps.weight");
    } else {
      gate = load(m, p + "ffn_gate.weight");
      up = load(m, p + "ffn_up.weight");
      down = load(m, p + "ffn_down.weight");
    }
    for (int64_t t = 0; t < T; ++t) {
      auto x = rmsnorm(h[t], fn.v.data(), hp.rms_eps);
      auto swiglu = [&](int64_t e, int64_t F) {
        std::vector<double> g, u;
        if (!gate_up.v.empty()) {
          g = matvec(gate_up, x, e * 2 * F, F);
          u = matvec(gate_up, x, e * 2 * F + F, F);
        } else {
          g = matvec(gate, x, e * F, F);
          u = matvec(up, x, e * F, F);
        }
        for (int64_t i = 0; i < F; ++i) g[i] = silu(g[i]) * u[i];
        return matvec(down, g, e * E, E);
      };
      if (!moe) {
        auto y = swiglu(0, hp.n_ff);
        for (int64_t i = 0; i < E; ++i) h[t][i] += y[i];
        continue;
      }
      auto logits = matvec(router, x);
      double mx = *std::max_element(logits.begin(), logits.end()), sum = 0;
      std::vector<double> pr(logits.size());
      for (size_t e = 0; e < pr.size(); ++e) sum += (pr[e] = std::exp(logits[e] - mx));
      for (auto& v2 : pr) v2 /= sum;
      std::vector<int> idx(pr.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](int a2, int b2) { return pr[a2] > pr[b2]; });
      const int64_t K = hp.n_expert_used;
      if (min_margin && K < static_cast<int64_t>(idx.size()))
        *min_margin = std::min(*min_margin, pr[idx[K - 1]] - pr[idx[K]]);
      double wsum = 0;
      for (int64_t j = 0; j < K; ++j) wsum += pr[idx[j]];
      const int64_t F = hp.n_ff_exp ? hp.n_ff_exp : hp.n_ff;
      for (int64_t j = 0; j < K; ++j) {
        auto y = swiglu(idx[j], F);
        for (int64_t i = 0; i < E; ++i) h[t][i] += pr[idx[j]] / wsum * y[i];
      }
    }
  }
  std::vector<float> logits(T * out.ne[1]);
  for (int64_t t = 0; t < T; ++t) {
    auto x = rmsnorm(h[t], onorm.v.data(), hp.rms_eps);
    auto y = matvec(out, x);
    for (int64_t i = 0; i < out.ne[1]; ++i) logits[t * out.ne[1] + i] = static_cast<float>(y[i]);
  }
  return logits;
}

}  // namespace strata::test
