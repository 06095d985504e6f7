// Per-ISA compute kernels behind one table. The engine picks a table once (select_kernels(level)) and
// calls through it; every level computes the same integer sums as the scalar reference in src/quant, so
// results differ between levels only by float summation order (see docs/performance.md for the bounds).
//
// Weight rows are read in their GGUF layout, so the same kernels run on weights mapped straight from a file;
// weights copied into DRAM can be interleaved at load for the faster mat_tile_i16 (quant/interleave.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cpu/cpu_features.h"
#include "quant/types.h"

namespace strata::cpu {

// sum_k w[k] * a[k]; w is n elements of the weight type, a is n elements of its partner type
// (TypeTraits::vec_dot_type, already quantized). n is a multiple of the weight's block size.
using VecDotFn = float (*)(const void* w, const void* a, int64_t n);

// The batched form. For r < nr and c < nc:
//   y[c * ldy + r] = vec_dot(w + r * w_stride, a + c * a_stride, n)
// (y is token-major, like the engine's activations). Each weight block is decoded once and dotted with
// up to kTileCols activation rows while it sits in registers, so prefill pays the decode cost once per
// kTileCols tokens. Order inside: column groups outer, rows inner -- pass a row range small enough to
// stay in L2 (e.g. 16-64 rows) and all tokens. nc == 1 is the decode (matrix-vector) case and streams
// the weight rows once.
using MatTileFn = void (*)(const void* w, size_t w_stride, int64_t nr, const void* a, size_t a_stride, int64_t nc,
                           int64_t n, float* y, size_t ldy);

// Same signatures as the src/quant reference functions.
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);
// gate[i] = silu(gate[i]) * up[i], silu(z) = z / (1 + e^-z); the reference is strata::swiglu (ops/elementwise).
using SwigluFn = void (*)(float* gate, const float* up, int64_t n);

inline constexpr int kTileCols = 4;
inline constexpr size_t kTypeSlots = 40;  // ggml type ids 0..39 index the table directly

struct TypeKernels {
  VecDotFn vec_dot = nullptr;          // nullptr: the type has no dot product at any level
  MatTileFn mat_tile = nullptr;
  // mat_tile for rows stored interleaved (quant/interleave.h): w is the start of a 16-row group, nr a
  // multiple of 16, w_stride the plain row bytes. nullptr: the type is never interleaved at this level
  // (the scalar table, types without a kernel for the layout).
  MatTileFn mat_tile_i16 = nullptr;
  DequantizeRowFn dequantize = nullptr;
  // Quantizes float activations into this weight type's partner (Q8_0 / Q8_1 / Q8_K / F16 / BF16 / F32).
  // Bit-identical to the reference quantizer at every level.
  QuantizeRowFn quantize_activations = nullptr;
  TensorType act_type = TensorType::F32;
};

struct KernelTable {
  IsaLevel level = IsaLevel::Scalar;
  std::array<TypeKernels, kTypeSlots> types{};
  // Activation quantizers by partner type (also reachable per weight type above).
  QuantizeRowFn quantize_q8_0 = nullptr;
  QuantizeRowFn quantize_q8_1 = nullptr;
  QuantizeRowFn quantize_q8_k = nullptr;
  // nullptr (the scalar table): callers use the reference strata::swiglu.
  SwigluFn swiglu = nullptr;

  // Throws UnsupportedError for a type without kernels.
  const TypeKernels& operator[](TensorType t) const;
  bool has(TensorType t) const {
    const auto i = static_cast<size_t>(t);
    return i < kTypeSlots && types[i].vec_dot != nullptr;
  }
};

// The immutable table of one level, built on first use. Pass a level from select_isa(); as a safety net a
// level this CPU cannot run throws InputError instead of faulting later.
const KernelTable& select_kernels(IsaLevel level);

// Convenience for a whole matrix-vector / matrix-matrix product on the calling thread (tests, bench):
// quantizes x (nc rows of n floats, row stride x_stride floats) into `scratch` (resized as needed), then
// y[c * ldy + r] for r < nr. The engine instead quantizes once per batch and splits rows over threads.
void matmul_rows(const KernelTable& table, TensorType wtype, const void* w, size_t w_stride, int64_t nr,
                 const float* x, size_t x_stride, int64_t nc, int64_t n, float* y, size_t ldy,
                 std::vector<uint8_t>& scratch);

}  // namespace strata::cpu
