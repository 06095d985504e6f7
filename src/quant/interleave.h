// The row-interleaved layout ("repacked" weights) for matrices that live in DRAM. A file's rows are
// rearranged once at load so that a SIMD register can take one 32-bit granule of 16 rows with a single load:
// the decode kernels then need no transposition, and each 16-row group is one contiguous run of bytes.
//
// Layout (same total size as the plain rows, so byte extents of whole groups are unchanged). With RB the
// plain row bytes and BB the block bytes, the 4 bytes at plain offset 4k of block b of row r
// (r = 16g + i) are stored at
//     g * 16 * RB  +  b * 16 * BB  +  64 * k  +  4 * i
// i.e. group g holds its super-blocks in order, each as a 16*BB-byte "tile" whose k-th 64-byte line is
// granule k of rows 16g..16g+15. Only types whose blocks are a whole number of 4-byte granules can be
// interleaved (Q4_K 144, Q2_K 84, Q5_K 176, IQ4_XS 136 bytes; not Q3_K or Q6_K).
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace strata {

inline constexpr int64_t kInterleaveRows = 16;

// Quantized types whose blocks split into 4-byte granules (the layout is defined for them).
bool interleavable(const TypeTraits& t);

// src: `rows` plain rows of `cols` elements (rows % 16 == 0); dst: the same bytes interleaved. dst and src
// must not overlap. Throws InputError when the type or shape does not qualify.
void interleave_rows(const TypeTraits& t, const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols);
// The inverse (tests, debug dumps).
void deinterleave_rows(const TypeTraits& t, const uint8_t* src, uint8_t* dst, int64_t rows, int64_t cols);
// Row i (0 <= i < 16) of the interleaved group starting at `group`, as row_bytes(t, cols) plain bytes
// (the reference path and embedding lookups read single rows).
void interleaved_row(const TypeTraits& t, const uint8_t* group, int64_t i, int64_t cols, uint8_t* dst);

}  // namespace strata
