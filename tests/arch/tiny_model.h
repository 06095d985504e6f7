// Test-only model builder and a naive float64 forward pass, so the engine can be checked on
// architectures and sizes the fixtures do not cover (more experts, longer context, fused gate_up,
// quantized matrices) and on deliberately broken files.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "quant/types.h"

namespace strata::test {

struct TinySpec {
  std::string arch = "llama";  // "llama" (dense, or Mixtral-style with n_expert > 0) or "qwen3moe"
  int64_t n_vocab = 300, n_embd = 128, n_layer = 2, n_head = 4, n_head_kv = 2, head_dim = 32, n_ff = 192;
  int64_t n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
  bool fused_gate_up = false;  // one ffn_gate_up_exps tensor instead of gate + up
  bool tied_output = false;    // no output.weight (reuse token_embd)
  int64_t n_ctx = 512;
  int64_t n_rot = 0;           // 0: head_dim
  float rope_base = 10000.0f;
  float eps = 1e-5f;
  TensorType mat_type = TensorType::F32;  // every 2-D/3-D matrix
  uint64_t seed = 1;
  // Breakage for bad-input tests.
  std::set<std::string> drop_tensors;
  std::set<std::string> drop_keys;             // full key names
  std::map<std::string, std::vector<int64_t>> reshape;  // tensor name -> ne written instead
  std::map<std::string, TensorType> retype;    // tensor name -> type written instead
  std::string arch_name_override;              // general.architecture written instead of arch
  std::map<std::string, uint32_t> set_u32;     // full key name -> value written instead (or in addition)
  uint32_t alignment = 32;                     // general.alignment of the file
};

// Writes the model and returns path.
std::string write_tiny_model(const TinySpec& spec, const std::string& path);

// The float64 forward of the model in `path` (any architecture write_tiny_model produces), every
// weight dequantized, full causal attention recomputed per position, no cache. Returns logits
// [tokens.size() x n_vocab]; with `expert_margins` the smallest routing margin seen. kv_type F16 or Q8_0
// rounds each position's K and V rows (after RoPE) as a cache of that type stores them.
std::vector<float> naive_forward(const std::string& path, const std::vector<int32_t>& tokens,
                                 double* min_routing_margin = nullptr, TensorType kv_type = TensorType::F32);

}  // namespace strata::test
