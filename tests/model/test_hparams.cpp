// read_hparams on hand-written files: required keys, defaults, bad values.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "model/hparams.h"
#include "test_support.h"
#include "util/error.h"

namespace strata {
namespace {

std::string write_keys(const std::vector<std::pair<std::string, GgufValue>>& kv) {
  GgufWriter w;
  for (const auto& [k, v] : kv) w.set(k, v);
  const std::string p = test::temp_dir() + "/h.gguf";
  w.write(p);
  return p;
}

std::string error_of(const std::vector<std::pair<std::string, GgufValue>>& kv) {
  try {
    (void)read_hparams(GgufModel::open(write_keys(kv)));
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(Hparams, MissingRequiredKeysNameTheKey) {
  EXPECT_NE(error_of({{"general.architecture", GgufValue::str("llama")}, {"llama.block_count", GgufValue::u32(2)}})
                .find("llama.embedding_length"),
            std::string::npos);
  EXPECT_NE(error_of({{"general.architecture", GgufValue::str("qwen3moe")},
                      {"qwen3moe.embedding_length", GgufValue::u32(256)}})
                .find("qwen3moe.block_count"),
            std::string::npos);
  EXPECT_NE(error_of({{"general.architecture", GgufValue::str("deepseek2")},
                      {"deepseek2.embedding_length", GgufValue::u32(256)},
                      {"deepseek2.block_count", GgufValue::u32(2)},
                      {"deepseek2.attention.head_count", GgufValue::u32(4)}})
                .find("deepseek2.attention.kv_lora_rank"),
            std::string::npos);
  EXPECT_NE(error_of({{"general.name", GgufValue::str("x")}}).find("general.architecture"), std::string::npos);
  EXPECT_NE(error_of({{"general.architecture", GgufValue::str("llama")},
                      {"llama.embedding_length", GgufValue::u32(256)},
                      {"llama.block_count", GgufValue::u32(2)},
                      {"llama.attention.head_count", GgufValue::u32(4)},
                      {"llama.expert_count", GgufValue::u32(2)},
                      {"llama.expert_used_count", GgufValue::u32(4)}})
                .find("expert_used_count"),
            std::string::npos);
  // A key of the wrong type is as bad as a missing one.
  EXPECT_NE(error_of({{"general.architecture", GgufValue::str("llama")},
                      {"llama.embedding_length", GgufValue::str("256")},
                      {"llama.block_count", GgufValue::u32(2)}})
                .find("llama.embedding_length"),
            std::string::npos);
}

// Values that would turn every logit into NaN without an error: NaN, infinite or non-positive where a
// positive number is required.
TEST(Hparams, NonFiniteFloatsNameTheKey) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const struct {
    const char* key;
    float value;
  } bad[] = {{"attention.layer_norm_rms_epsilon", nan}, {"attention.layer_norm_rms_epsilon", -1e-6f},
             {"attention.layer_norm_rms_epsilon", 0.0f}, {"rope.freq_base", nan},
             {"rope.freq_base", 0.0f},                 {"rope.freq_base", -10000.0f},
             {"rope.scaling.factor", inf},             {"rope.scaling.yarn_log_multiplier", nan},
             {"rope.scaling.yarn_beta_fast", inf},     {"rope.scaling.yarn_beta_slow", -inf},
             {"expert_weights_scale", nan}};
  for (const auto& b : bad) {
    SCOPED_TRACE(b.key);
    const std::string key = std::string("llama.") + b.key;
    EXPECT_NE(error_of({{"general.architecture", GgufValue::str("llama")},
                        {"llama.embedding_length", GgufValue::u32(256)},
                        {"llama.block_count", GgufValue::u32(2)},
                        {"llama.attention.head_count", GgufValue::u32(4)},
                        {key, GgufValue::f32(b.value)}})
                  .find(key),
              std::string::npos);
  }
}

TEST(Hparams, DefaultsAndUnknownArchitecture) {
  HParams hp = read_hparams(GgufModel::open(write_keys({
      {"general.architecture", GgufValue::str("llama")},
      {"llama.embedding_length", GgufValue::u32(4096)},
      {"llama.block_count", GgufValue::u32(32)},
      {"llama.attention.head_count", GgufValue::u32(32)},
      {"llama.feed_forward_length", GgufValue::u32(14336)},
      {"llama.expert_count", GgufValue::u32(8)},
      {"llama.expert_used_count", GgufValue::u32(2)},
      {"tokenizer.ggml.tokens", GgufValue::str_array({"a", "b", "c"})},
  })));
  EXPECT_EQ(hp.n_head_kv, 32u);
  EXPECT_EQ(hp.head_dim_k, 128u);
  EXPECT_EQ(hp.n_rot, 128u);
  EXPECT_EQ(hp.n_vocab, 3u);
  EXPECT_EQ(hp.n_ff_exp, 14336u);  // Mixtral: per-expert FFN in feed_forward_length
  EXPECT_EQ(hp.gating, GatingFunc::Softmax);
  EXPECT_TRUE(hp.expert_weights_norm);
  EXPECT_FLOAT_EQ(hp.expert_weights_scale, 1.0f);

  HParams g = read_hparams(GgufModel::open(write_keys({
      {"general.architecture", GgufValue::str("mamba-moe")},
      {"mamba-moe.embedding_length", GgufValue::u32(1024)},
      {"mamba-moe.block_count", GgufValue::u32(8)},
  })));
  EXPECT_EQ(g.arch, "mamba-moe");
  EXPECT_EQ(g.n_head, 0u);

  HParams glm = read_hparams(GgufModel::open(write_keys({
      {"general.architecture", GgufValue::str("glm4moe")},
      {"glm4moe.embedding_length", GgufValue::u32(5120)},
      {"glm4moe.block_count", GgufValue::u32(93)},
      {"glm4moe.attention.head_count", GgufValue::u32(96)},
      {"glm4moe.attention.key_length", GgufValue::u32(128)},
      {"glm4moe.nextn_predict_layers", GgufValue::u32(1)},
  })));
  EXPECT_EQ(glm.gating, GatingFunc::Sigmoid);
  EXPECT_EQ(glm.n_nextn_layers, 1u);
  EXPECT_EQ(glm.head_dim_k, 128u);
}

TEST(Hparams, UnsupportedGatingFunction) {
  EXPECT_THROW(read_hparams(GgufModel::open(write_keys({
                   {"general.architecture", GgufValue::str("deepseek2")},
                   {"deepseek2.embedding_length", GgufValue::u32(256)},
                   {"deepseek2.block_count", GgufValue::u32(2)},
                   {"deepseek2.attention.head_count", GgufValue::u32(4)},
                   {"deepseek2.attention.kv_lora_rank", GgufValue::u32(512)},
                   {"deepseek2.expert_gating_func", GgufValue::u32(4)},
               }))),
               UnsupportedError);
}

}  // namespace
}  // namespace strata
