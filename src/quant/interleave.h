// The row-interleaved layout ("repacked" weights) for matrices that live in DRAM. A file's rows are
// rearranged once at load so that a SIMD register can take one 32-bit granule of 16 rows with a single load:
// the decode kernels then need no transposition, and each 16-row group is one contiguous run of bytes.
//
// Layout (same total size as the plain rows, so byte extents of whole groups are unchanged). With RB the
// plain row bytes and BB the block bytes, the 4 bytes at plain offset 4k (k < BB / 4) of block b of row r
// (r = 16g + i) are stored at
//     g * 16 * RB  +  b * 16 * BB  +  64 * k  +  4 * i
// i.e. group g holds its super-blocks in order, each as a 16*BB-byte "tile" whose k-th 64-byte line is
// granule k of rows 16g..16g+15. When BB % 4 == 2 (Q6_K 210, Q3_K 110: their fp16 d is those last 2 bytes)
// the block's trailing 2 bytes, plain offset BB - 2, follow the full lines as one 32-byte half line:
//     g * 16 * RB  +  b * 16 * BB  +  64 * (BB / 4)  +  2 * i
// so a tile is still exactly 16 * BB bytes (Q6_K 3360, Q3_K 1760) and the tiles of a group stay contiguous.
// The layout is defined for every quantized type (block_elems > 1) with an even block size: the K-quants
// (Q2_K 84, Q3_K 110, Q4_K 144, Q5_K 176, Q6_K 210), IQ4_XS 136, the other IQ/TQ types, and the 32-element
// types (Q4_0 18, Q4_1 20, Q5_0 22, Q5_1 24, Q8_0 34, Q8_1 36, IQ4_NL 18). Defining it for types without a
// kernel is harmless: the engine interleaves a tensor only where the kernel table also has a mat_tile_i16
// for its type. Odd block sizes (MXFP4 17) and the unquantized types (F32, F16, BF16, I8..) have none.
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace strata {

inline constexpr int64_t kInterleaveRows = 16;

// Quantized types with an even block size: whole 4-byte granules plus at most one 2-byte tail (the layout
// is defined for them).
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
