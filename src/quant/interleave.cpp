#include "quant/interleave.h"

#include <cstring>
#include <string>

#include "util/error.h"

namespace strata {
namespace {

void check(const TypeTraits& t, int64_t rows, int64_t cols) {
  if (!interleavable(t)) throw InputError(std::string("type ") + t.name + " has no row-interleaved layout");
  if (rows <= 0 || rows % kInterleaveRows != 0)
    throw InputError("row interleaving needs a positive multiple of 16 rows, got " + std::to_string(rows));
  if (cols <= 0 || cols % t.block_elems != 0)
    throw InputError("row interleaving: " + std::to_string(cols) + " columns is not a whole number of " + t.name +
                     " blocks");
}

// Calls f(plain, interleaved, bytes) for every piece of the matrix: the two byte positions of one 4-byte
// granule, or of a block's trailing 2 bytes (bytes == 2, block bytes % 4 == 2), in tile order (the tile is
// written front to back while the 16 rows are read in parallel streams).
template <class F>
void for_each_piece(const TypeTraits& t, int64_t rows, int64_t cols, F&& f) {
  const uint64_t rb = row_bytes(t, cols), bb = t.block_bytes, nb = rb / bb, granules = bb / 4;
  for (int64_t g = 0; g < rows / kInterleaveRows; ++g) {
    const uint64_t group = static_cast<uint64_t>(g) * kInterleaveRows * rb;
    for (uint64_t b = 0; b < nb; ++b) {
      const uint64_t tile = group + b * kInterleaveRows * bb, block = group + b * bb;
      for (uint64_t k = 0; k < granules; ++k)
        for (int64_t i = 0; i < kInterleaveRows; ++i) f(block + i * rb + 4 * k, tile + 64 * k + 4 * i, 4);
      if (bb % 4 == 2)
        for (int64_t i = 0; i < kInterleaveRows; ++i) f(block + i * rb + 4 * granules, tile + 64 * granules + 2 * i, 2);
    }
  }
}

}  // namespace

bool interleavable(const TypeTraits& t) { return t.block_elems > 1 && t.block_bytes % 2 == 0; }

void interleave_rows(const TypeTraits& t, const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols) {
  check(t, rows, cols);
  for_each_piece(t, rows, cols,
                 [&](uint64_t plain, uint64_t inter, size_t n) { std::memcpy(dst + inter, src + plain, n); });
}

void deinterleave_rows(const TypeTraits& t, const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols) {
  check(t, rows, cols);
  for_each_piece(t, rows, cols,
                 [&](uint64_t plain, uint64_t inter, size_t n) { std::memcpy(dst + plain, src + inter, n); });
}

void interleaved_row(const TypeTraits& t, const uint8_t* group, int64_t i, int64_t cols, uint8_t* dst) {
  check(t, kInterleaveRows, cols);
  const uint64_t bb = t.block_bytes, nb = row_bytes(t, cols) / bb, granules = bb / 4;
  for (uint64_t b = 0; b < nb; ++b) {
    const uint8_t* tile = group + b * kInterleaveRows * bb;
    for (uint64_t k = 0; k < granules; ++k) std::memcpy(dst + b * bb + 4 * k, tile + 64 * k + 4 * i, 4);
    if (bb % 4 == 2) std::memcpy(dst + b * bb + 4 * granules, tile + 64 * granules + 2 * i, 2);
  }
}

}  // namespace strata
