// The attention cache: per layer, one K row and one V row per context position, in F16 (default), F32
// or Q8_0 (blocks of 32 values with one F16 scale, as llama.cpp's `-ctk q8_0 -ctv q8_0`: 8.5 bits a
// value, so long-context decode reads 47% fewer cache bytes; every head must start and end on a block
// edge). What a row holds is the architecture's business (KvLayerLayout): n_head_kv * head_dim for
// ordinary attention; for absorbed MLA (deepseek2) the K row is the compressed latent + the rope
// part and there is no separate V row (v_width 0, V is read from the K row).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/kernels.h"
#include "ops/tensor.h"
#include "quant/types.h"
#include "util/huge_buffer.h"

namespace strata {

struct KvLayerLayout {
  int64_t k_width = 0;  // floats per position
  int64_t v_width = 0;  // 0: no V rows (V aliases part of K)
  // Every head attention reads starts and ends at a multiple of this many values (0: not stated). A
  // Q8_0 cache needs a multiple of 32, so an unfit model is refused when the cache is made.
  int64_t head_unit = 0;
};

// Read access to one layer's rows of K or V, for the attention op.
struct KvSpan {
  TensorType type = TensorType::F16;
  const uint8_t* data = nullptr;
  uint64_t row_bytes = 0;    // bytes per position
  int64_t offset = 0;        // first element of head 0 within a row
  int64_t head_stride = 0;   // elements between consecutive heads within a row

  // Byte offset of element `elem` within a row (a block edge for Q8_0).
  uint64_t bytes_at(int64_t elem) const { return kv_bytes(type, elem); }

  // Bytes that n values (a multiple of 32 for Q8_0) occupy in a cache of this type.
  static uint64_t kv_bytes(TensorType t, int64_t n) {
    if (t == TensorType::Q8_0) return static_cast<uint64_t>(n / 32) * 34;
    return static_cast<uint64_t>(n) * (t == TensorType::F32 ? 4 : 2);
  }
};

// The cache types: f16, f32, q8_0.
bool is_kv_type(TensorType t);
// "f16" / "f32" / "q8_0" (any case) -> the type; InputError naming `what` (e.g. "--kv-type") otherwise.
TensorType parse_kv_type(const std::string& name, const char* what);

class KvCache {
 public:
  KvCache(TensorType type, int64_t n_ctx, std::vector<KvLayerLayout> layers);

  // Bytes a cache of this shape occupies, for sizing checks before allocating.
  static uint64_t bytes_needed(TensorType type, int64_t n_ctx, const std::vector<KvLayerLayout>& layers);

  TensorType type() const { return type_; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_layer() const { return static_cast<int64_t>(layers_.size()); }
  const KvLayerLayout& layout(int layer) const { return layers_.at(layer); }
  uint64_t bytes() const { return bytes_; }

  // Writes rows src.row(i) (src.cols == the layer's width) at positions pos0 + i. An F16 cache rounds
  // through kernels' F16 activation converter when given (F16C; bit-identical to the scalar rounding,
  // which costs ~12 ns a value, 50 ms = ~4% of pp512 on the qwen3 slice), else the scalar one; a Q8_0
  // cache likewise through kernels' Q8_0 quantizer (bit-identical to quantize_q8_0).
  void store_k(int layer, int64_t pos0, const Mat& src, const cpu::KernelTable* kernels = nullptr);
  void store_v(int layer, int64_t pos0, const Mat& src, const cpu::KernelTable* kernels = nullptr);
  // Reads one row back as floats, as attention sees it (tests, debugging).
  void load_k(int layer, int64_t pos, float* dst) const;
  void load_v(int layer, int64_t pos, float* dst) const;

  // offset/head_stride in elements select a sub-range of each row.
  KvSpan k_span(int layer, int64_t offset, int64_t head_stride) const;
  KvSpan v_span(int layer, int64_t offset, int64_t head_stride) const;

 private:
  void store(uint8_t* base, int64_t width, int64_t pos0, const Mat& src, const char* what, int layer,
             const cpu::KernelTable* kernels);
  void load(const uint8_t* base, int64_t width, int64_t pos, float* dst) const;

  TensorType type_;
  int64_t n_ctx_;
  std::vector<KvLayerLayout> layers_;
  std::vector<uint8_t*> k_, v_;
  HugeBuffer storage_;
  uint64_t bytes_ = 0;
};

}  // namespace strata
