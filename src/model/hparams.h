// Hyper-parameters of a model, read from the `{arch}.` metadata keys (FORMATS.md section 4).
// One struct for every architecture; fields an architecture does not use stay at their defaults.
#pragma once

#include <cstdint>
#include <string>

namespace strata {

class GgufModel;

enum class GatingFunc : uint32_t { None = 0, Softmax = 1, Sigmoid = 2, SoftmaxWeight = 3 };

struct HParams {
  std::string arch;                 // general.architecture
  uint32_t n_vocab = 0;             // {arch}.vocab_size, else length of tokenizer.ggml.tokens
  uint32_t n_ctx_train = 0;         // {arch}.context_length
  uint32_t n_embd = 0;              // {arch}.embedding_length
  uint32_t n_layer = 0;             // {arch}.block_count
  uint32_t n_head = 0;              // {arch}.attention.head_count
  uint32_t n_head_kv = 0;           // {arch}.attention.head_count_kv (default n_head)
  uint32_t head_dim_k = 0;          // {arch}.attention.key_length (default n_embd / n_head)
  uint32_t head_dim_v = 0;          // {arch}.attention.value_length (default n_embd / n_head)
  uint32_t n_ff = 0;                // {arch}.feed_forward_length (dense FFN)
  float rms_eps = 1e-6f;            // {arch}.attention.layer_norm_rms_epsilon

  // RoPE
  uint32_t n_rot = 0;               // {arch}.rope.dimension_count (default head_dim_k)
  float rope_freq_base = 10000.0f;  // {arch}.rope.freq_base
  std::string rope_scaling;         // {arch}.rope.scaling.type: "", "none", "linear", "yarn"
  float rope_scaling_factor = 1.0f; // {arch}.rope.scaling.factor
  uint32_t rope_orig_ctx = 0;       // {arch}.rope.scaling.original_context_length (default n_ctx_train)
  float yarn_log_multiplier = 0.0f; // {arch}.rope.scaling.yarn_log_multiplier
  float yarn_beta_fast = 32.0f;     // {arch}.rope.scaling.yarn_beta_fast
  float yarn_beta_slow = 1.0f;      // {arch}.rope.scaling.yarn_beta_slow

  // Mixture of experts
  uint32_t n_expert = 0;            // {arch}.expert_count
  uint32_t n_expert_used = 0;       // {arch}.expert_used_count
  uint32_t n_expert_shared = 0;     // {arch}.expert_shared_count
  uint32_t n_ff_exp = 0;            // {arch}.expert_feed_forward_length
  uint32_t n_ff_shexp = 0;          // {arch}.expert_shared_feed_forward_length (qwen2moe)
  uint32_t n_leading_dense = 0;     // {arch}.leading_dense_block_count
  uint32_t n_expert_groups = 0;     // {arch}.expert_group_count (group-limited routing when > 1)
  uint32_t n_group_used = 0;        // {arch}.expert_group_used_count
  GatingFunc gating = GatingFunc::None;   // {arch}.expert_gating_func (None -> arch default)
  bool expert_weights_norm = false;       // {arch}.expert_weights_norm
  float expert_weights_scale = 1.0f;      // {arch}.expert_weights_scale

  // Multi-head latent attention (deepseek2)
  uint32_t q_lora_rank = 0;         // {arch}.attention.q_lora_rank (0: "lite" variant without q_lora)
  uint32_t kv_lora_rank = 0;        // {arch}.attention.kv_lora_rank
  uint32_t head_dim_k_mla = 0;      // {arch}.attention.key_length_mla (split layout)
  uint32_t head_dim_v_mla = 0;      // {arch}.attention.value_length_mla (split layout)

  // Trailing multi-token-prediction blocks (glm4moe): loaded but never run at decode.
  uint32_t n_nextn_layers = 0;      // {arch}.nextn_predict_layers

  bool is_moe() const { return n_expert > 0; }
  // Multi-head latent attention run absorbed, as the engine runs deepseek2 decode: one kv_lora_rank +
  // n_rot latent row per position serves every head as K, its first kv_lora_rank values as V.
  bool absorbed_mla() const { return arch == "deepseek2" && kv_lora_rank > 0; }
};

// Reads the hyper-parameters of any architecture. Missing required keys throw FormatError naming the key.
HParams read_hparams(const GgufModel& model);

}  // namespace strata
