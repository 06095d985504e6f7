#include "model/hparams.h"

#include <cmath>
#include <limits>
#include <string>

#include "gguf/reader.h"
#include "util/error.h"

namespace strata {
namespace {

// Reads `{arch}.<suffix>` keys. Required keys go through the reader's typed getters so a missing or mistyped
// key is a FormatError naming the key; optional ones keep the field's default.
class KeyReader {
 public:
  KeyReader(const GgufModel& m, std::string arch) : m_(m), prefix_(std::move(arch) + ".") {}

  std::string key(const char* suffix) const { return prefix_ + suffix; }
  bool has(const char* suffix) const { return m_.find(key(suffix)) != nullptr; }

  uint32_t u32(const char* suffix) const { return narrow(suffix, m_.get_uint(key(suffix))); }
  uint32_t u32_or(const char* suffix, uint32_t def) const {
    return narrow(suffix, m_.get_uint_or(key(suffix), def));
  }
  float f32_or(const char* suffix, float def) const {
    return static_cast<float>(m_.get_float_or(key(suffix), def));
  }
  bool bool_or(const char* suffix, bool def) const { return m_.get_bool_or(key(suffix), def); }
  std::string str_or(const char* suffix, std::string def) const {
    return m_.get_string_or(key(suffix), std::move(def));
  }

 private:
  uint32_t narrow(const char* suffix, uint64_t v) const {
    // Hyper-parameters beyond 32 bits are nonsense and would overflow every size computation downstream.
    if (v > std::numeric_limits<uint32_t>::max())
      throw FormatError(m_.path(), 0, key(suffix), "value " + std::to_string(v) + " does not fit in 32 bits");
    return static_cast<uint32_t>(v);
  }

  const GgufModel& m_;
  std::string prefix_;
};

// Gating function when the file does not say (FORMATS.md 4.2/4.3.1/4.7): DeepSeek-V2-era files without the
// key are softmax; GLM-4.5 defaults to sigmoid.
GatingFunc default_gating(const std::string& arch) {
  if (arch == "glm4moe") return GatingFunc::Sigmoid;
  return GatingFunc::Softmax;
}

}  // namespace

HParams read_hparams(const GgufModel& model) {
  HParams hp;
  hp.arch = model.get_string("general.architecture");
  if (hp.arch.empty())
    throw FormatError(model.path(), 0, "general.architecture", "architecture name is empty");
  KeyReader k(model, hp.arch);

  hp.n_embd = k.u32("embedding_length");
  hp.n_layer = k.u32("block_count");
  hp.n_head = k.u32_or("attention.head_count", 0);
  // Every architecture we run needs head_count; generic (unknown) archs may legitimately lack it.
  const bool known = hp.arch == "llama" || hp.arch == "qwen3moe" || hp.arch == "qwen2moe" ||
                     hp.arch == "deepseek2" || hp.arch == "glm4moe";
  if (known && hp.n_head == 0) hp.n_head = k.u32("attention.head_count");
  hp.n_ctx_train = k.u32_or("context_length", 0);
  hp.n_ff = k.u32_or("feed_forward_length", 0);
  hp.n_head_kv = k.u32_or("attention.head_count_kv", hp.n_head);
  const uint32_t def_head_dim = hp.n_head ? hp.n_embd / hp.n_head : 0;
  hp.head_dim_k = k.u32_or("attention.key_length", def_head_dim);
  hp.head_dim_v = k.u32_or("attention.value_length", def_head_dim);
  hp.rms_eps = k.f32_or("attention.layer_norm_rms_epsilon", hp.rms_eps);

  if (const GgufValue* v = model.find(k.key("vocab_size")); v && !v->is_array()) {
    hp.n_vocab = k.u32("vocab_size");
  } else if (const GgufValue* t = model.find("tokenizer.ggml.tokens"); t && t->is_array()) {
    hp.n_vocab = static_cast<uint32_t>(t->array_size());
  }

  hp.n_rot = k.u32_or("rope.dimension_count", hp.head_dim_k);
  hp.rope_freq_base = k.f32_or("rope.freq_base", hp.rope_freq_base);
  hp.rope_scaling = k.str_or("rope.scaling.type", "");
  hp.rope_scaling_factor = k.f32_or("rope.scaling.factor", 1.0f);
  if (hp.rope_scaling_factor == 0.0f) hp.rope_scaling_factor = 1.0f;  // llama.cpp treats 0 as "unset"
  hp.rope_orig_ctx = k.u32_or("rope.scaling.original_context_length", hp.n_ctx_train);
  hp.yarn_log_multiplier = k.f32_or("rope.scaling.yarn_log_multiplier", 0.0f);
  hp.yarn_beta_fast = k.f32_or("rope.scaling.yarn_beta_fast", hp.yarn_beta_fast);
  hp.yarn_beta_slow = k.f32_or("rope.scaling.yarn_beta_slow", hp.yarn_beta_slow);

  hp.n_expert = k.u32_or("expert_count", 0);
  hp.n_expert_used = k.u32_or("expert_used_count", 0);
  if (hp.n_expert > 0 && hp.n_expert_used == 0) hp.n_expert_used = k.u32("expert_used_count");
  if (hp.n_expert_used > hp.n_expert)
    throw FormatError(model.path(), 0, k.key("expert_used_count"),
                      std::to_string(hp.n_expert_used) + " experts used per token but only " +
                          std::to_string(hp.n_expert) + " exist");
  hp.n_expert_shared = k.u32_or("expert_shared_count", 0);
  hp.n_ff_exp = k.u32_or("expert_feed_forward_length", 0);
  hp.n_ff_shexp = k.u32_or("expert_shared_feed_forward_length", 0);
  hp.n_leading_dense = k.u32_or("leading_dense_block_count", 0);
  hp.n_expert_groups = k.u32_or("expert_group_count", 0);
  hp.n_group_used = k.u32_or("expert_group_used_count", 0);
  const uint32_t gating = k.u32_or("expert_gating_func", 0);
  if (gating > 3)
    throw UnsupportedError(model.path() + ": " + k.key("expert_gating_func") + " = " + std::to_string(gating) +
                           " is not a gating function Strata implements (1 softmax, 2 sigmoid, 3 softmax-weight)");
  hp.gating = gating == 0 ? default_gating(hp.arch) : static_cast<GatingFunc>(gating);
  // qwen3moe and llama (Mixtral) always renormalise the top-k weights; there is no key for it.
  const bool norm_default = hp.arch == "qwen3moe" || hp.arch == "llama";
  hp.expert_weights_norm = k.bool_or("expert_weights_norm", norm_default);
  hp.expert_weights_scale = k.f32_or("expert_weights_scale", 1.0f);
  if (hp.expert_weights_scale == 0.0f) hp.expert_weights_scale = 1.0f;

  if (hp.arch == "llama" && hp.n_expert > 0 && hp.n_ff_exp == 0) hp.n_ff_exp = hp.n_ff;  // Mixtral: per-expert FFN

  if (hp.arch == "deepseek2") {
    hp.q_lora_rank = k.u32_or("attention.q_lora_rank", 0);
    hp.kv_lora_rank = k.u32("attention.kv_lora_rank");
    hp.head_dim_k_mla = k.u32_or("attention.key_length_mla", 0);
    hp.head_dim_v_mla = k.u32_or("attention.value_length_mla", 0);
  } else {
    hp.q_lora_rank = k.u32_or("attention.q_lora_rank", 0);
    hp.kv_lora_rank = k.u32_or("attention.kv_lora_rank", 0);
  }
  // A NaN or non-positive epsilon or base turns every logit into NaN without any error; name the key.
  auto check = [&](const char* key, float v, bool positive) {
    if (!std::isfinite(v) || (positive && v <= 0))
      throw FormatError(model.path(), 0, k.key(key),
                        std::to_string(v) + (positive ? " must be a finite number > 0" : " must be finite"));
  };
  check("attention.layer_norm_rms_epsilon", hp.rms_eps, true);
  check("rope.freq_base", hp.rope_freq_base, true);
  check("rope.scaling.factor", hp.rope_scaling_factor, true);
  check("rope.scaling.yarn_log_multiplier", hp.yarn_log_multiplier, false);
  check("rope.scaling.yarn_beta_fast", hp.yarn_beta_fast, false);
  check("rope.scaling.yarn_beta_slow", hp.yarn_beta_slow, false);
  check("expert_weights_scale", hp.expert_weights_scale, false);
  hp.n_nextn_layers = k.u32_or("nextn_predict_layers", 0);
  if (hp.n_nextn_layers > hp.n_layer)
    throw FormatError(model.path(), 0, k.key("nextn_predict_layers"), "more MTP layers than blocks");
  if (hp.n_leading_dense > hp.n_layer)
    throw FormatError(model.path(), 0, k.key("leading_dense_block_count"), "more dense layers than blocks");
  return hp;
}

}  // namespace strata
