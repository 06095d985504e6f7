// Broken or unsupported files fail at load with a message naming what is wrong; bad requests fail with
// clear InputErrors. Nothing crashes.
#include <gtest/gtest.h>

#include <string>

#include "ops/thread_pool.h"
#include "runtime/model.h"
#include "runtime/session.h"
#include "test_support.h"
#include "tiny_model.h"
#include "util/error.h"

namespace strata::test {
namespace {

template <typename E>
std::string load_error(const TinySpec& s, const std::string& name) {
  const std::string path = write_tiny_model(s, temp_dir() + "/" + name + ".gguf");
  try {
    Model::load(path);
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << name << ": loaded without error";
  return "";
}

TEST(BadInput, UnsupportedArchitectureIsNamed) {
  TinySpec s;
  s.arch_name_override = "gptneox-strange";
  const std::string msg = load_error<UnsupportedError>(s, "arch");
  EXPECT_NE(msg.find("gptneox-strange"), std::string::npos) << msg;
}

// RoPE rotates pairs inside each head: an odd count or more dims than the head holds (which wrote past
// the head's rows and corrupted the heap) is refused at load, for the llama and qwen3moe builders too.
TEST(BadInput, RopeDimensionsOutsideTheHeadAreNamed) {
  for (const char* arch : {"llama", "qwen3moe"}) {
    for (int64_t n_rot : {int64_t{34}, int64_t{1000}, int64_t{7}}) {
      TinySpec s;
      s.arch = arch;
      if (s.arch == "qwen3moe") {
        s.n_expert = 4;
        s.n_expert_used = 2;
        s.n_ff_exp = 64;
      }
      s.n_rot = n_rot;  // head_dim is 32
      const std::string msg = load_error<FormatError>(s, std::string("rot_") + arch + std::to_string(n_rot));
      EXPECT_NE(msg.find(std::string(arch) + ".rope.dimension_count"), std::string::npos) << msg;
    }
  }
}

// A block count far beyond the tensors the file holds: the builders looped over it as a negative int and
// the KV cache then sized a per-block array by it (found by fuzz/model_load.cpp).
TEST(BadInput, BlockCountBeyondTheTensorsIsNamed) {
  TinySpec s;
  s.set_u32 = {{"llama.block_count", 4118336767u}};
  const std::string msg = load_error<FormatError>(s, "blocks");
  EXPECT_NE(msg.find("llama.block_count"), std::string::npos) << msg;
}

// general.alignment 2 is valid GGUF, but a tensor after an 18-byte one then starts at an address the
// kernels cannot read floats from in place (found by fuzz/model_load.cpp, UBSan).
TEST(BadInput, DataNotFourByteAlignedIsNamed) {
  TinySpec s;
  s.alignment = 2;
  s.retype = {{"token_embd.weight", TensorType::Q4_0}};
  s.reshape = {{"token_embd.weight", {32, 1}}};  // one 18-byte block
  const std::string msg = load_error<FormatError>(s, "align");
  EXPECT_NE(msg.find("not 4-byte aligned"), std::string::npos) << msg;
}

TEST(BadInput, MissingRequiredKeyIsNamed) {
  TinySpec s;
  s.drop_keys = {"llama.embedding_length"};
  const std::string msg = load_error<FormatError>(s, "key");
  EXPECT_NE(msg.find("llama.embedding_length"), std::string::npos) << msg;
}

TEST(BadInput, MissingExpertUsedCountIsNamed) {
  TinySpec s;
  s.arch = "qwen3moe";
  s.n_expert = 4;
  s.n_expert_used = 2;
  s.n_ff_exp = 64;
  s.drop_keys = {"qwen3moe.expert_used_count"};
  const std::string msg = load_error<FormatError>(s, "used");
  EXPECT_NE(msg.find("expert_used_count"), std::string::npos) << msg;
}

TEST(BadInput, MissingTensorIsNamed) {
  TinySpec s;
  s.drop_tensors = {"blk.1.attn_k.weight"};
  const std::string msg = load_error<FormatError>(s, "tensor");
  EXPECT_NE(msg.find("blk.1.attn_k.weight"), std::string::npos) << msg;
}

TEST(BadInput, MissingExpertTensorIsNamed) {
  TinySpec s;
  s.n_expert = 4;
  s.n_expert_used = 2;
  s.n_ff_exp = 64;
  s.drop_tensors = {"blk.0.ffn_down_exps.weight"};
  const std::string msg = load_error<FormatError>(s, "expert");
  EXPECT_NE(msg.find("blk.0.ffn_down_exps.weight"), std::string::npos) << msg;
}

TEST(BadInput, WrongShapeIsNamed) {
  TinySpec s;
  s.reshape["blk.0.attn_q.weight"] = {128, 64};
  const std::string msg = load_error<FormatError>(s, "shape");
  EXPECT_NE(msg.find("blk.0.attn_q.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shape"), std::string::npos) << msg;
}

TEST(BadInput, UnsupportedTensorTypeIsNamed) {
  // Any type of the table that stores rows of 128 but has no kernels in this build.
  const TypeTraits* none = nullptr;
  for (uint32_t id = 0; id < 64 && !none; ++id) {
    const TypeTraits* t = find_type(id);
    if (t && !t->dequantize && t->type != TensorType::F32 && 128 % t->block_elems == 0) none = t;
  }
  if (!none) GTEST_SKIP() << "every known type has kernels in this build";
  TinySpec s;
  s.retype["blk.0.ffn_up.weight"] = none->type;
  const std::string msg = load_error<UnsupportedError>(s, "type");
  EXPECT_NE(msg.find("blk.0.ffn_up.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find(none->name), std::string::npos) << msg;
}

class SessionErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    TinySpec s;
    s.n_ctx = 64;
    model_ = Model::load(write_tiny_model(s, temp_dir() + "/ok.gguf"));
  }
  std::unique_ptr<Model> model_;
  ThreadPool pool_{2};
};

TEST_F(SessionErrors, TokenOutOfRange) {
  SessionOptions so;
  so.n_ctx = 32;
  Session s(*model_, pool_, so);
  std::vector<int32_t> toks = {1, 2, 300};
  try {
    s.eval(toks);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("300"), std::string::npos) << e.what();
  }
  std::vector<int32_t> neg = {-1};
  EXPECT_THROW(s.eval(neg), InputError);
}

TEST_F(SessionErrors, PromptLongerThanContext) {
  SessionOptions so;
  so.n_ctx = 8;
  Session s(*model_, pool_, so);
  std::vector<int32_t> toks(9, 1);
  try {
    s.eval(toks);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("context"), std::string::npos) << e.what();
  }
  // The failed call must not have consumed positions.
  EXPECT_EQ(s.n_past(), 0);
  std::vector<int32_t> ok(8, 1);
  EXPECT_NO_THROW(s.eval(ok));
  std::vector<int32_t> one = {1};
  EXPECT_THROW(s.eval(one), InputError);
}

TEST_F(SessionErrors, KvCacheThatCannotFitIsRefusedUpFront) {
  SessionOptions o;
  o.n_ctx = 1 << 20;
  o.memory_budget = 64 << 20;
  try {
    Session s(*model_, pool_, o);
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("KV cache"), std::string::npos) << m;
    EXPECT_NE(m.find("1048576"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace strata::test
