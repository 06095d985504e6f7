// Views the ops work on. Weights are reached as WeightView (type + shape + bytes, wherever the bytes
// live: an mmap, a DRAM copy, an expert-cache slot); activations are plain row-major float matrices.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "quant/types.h"

namespace strata {

// A 2-D (or a slice of a 3-D) weight in ggml order: rows() rows of cols() = ne[0] elements, row r at
// data + r * row_stride. Valid for the duration of the forward call that obtained it.
struct WeightView {
  const TypeTraits* type = nullptr;
  std::array<int64_t, 4> ne{1, 1, 1, 1};
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;
  std::string_view name;  // for error messages and dumps
  // Rows stored interleaved by 16 (quant/interleave.h, a load-time DRAM copy): row(r) does not point at a
  // plain row; matmul and get_rows handle the layout.
  bool interleaved = false;

  int64_t cols() const { return ne[0]; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
  uint64_t row_stride() const { return row_bytes(*type, ne[0]); }
  const uint8_t* row(int64_t r) const { return data + static_cast<uint64_t>(r) * row_stride(); }  // plain only
  bool valid() const { return data != nullptr; }
};

// A row-major float matrix of `rows` rows, row r at data + r * stride.
struct Mat {
  float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t stride = 0;

  float* row(int64_t r) const { return data + r * stride; }
};

inline Mat mat(float* data, int64_t rows, int64_t cols) { return Mat{data, rows, cols, cols}; }

}  // namespace strata
