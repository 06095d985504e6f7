// The interleaved layout (quant/interleave.h): exact byte positions, round trip, and clear errors.
#include "quant/interleave.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "util/error.h"

namespace strata {
namespace {

// Fills a plain matrix with a byte pattern that makes misplaced bytes visible.
std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 131 + (i >> 8) * 7);
  return v;
}

TEST(Interleave, PlacesEveryGranuleWhereTheLayoutSays) {
  const TypeTraits& t = type_traits(TensorType::Q4_K);
  const int64_t rows = 32, cols = 512;  // two groups, two super-blocks per row
  const uint64_t rb = row_bytes(t, cols), bb = t.block_bytes;
  std::vector<uint8_t> src = pattern(rb * rows), dst(src.size()), back(src.size());
  interleave_rows(t, src.data(), dst.data(), rows, cols);
  for (int64_t r = 0; r < rows; ++r)
    for (uint64_t b = 0; b < 2; ++b)
      for (uint64_t k = 0; k < bb / 4; ++k) {
        const uint64_t plain = r * rb + b * bb + 4 * k;
        const uint64_t inter = (r / 16) * 16 * rb + b * 16 * bb + 64 * k + 4 * (r % 16);
        ASSERT_EQ(std::memcmp(src.data() + plain, dst.data() + inter, 4), 0) << "r=" << r << " b=" << b << " k=" << k;
      }
  deinterleave_rows(t, dst.data(), back.data(), rows, cols);
  EXPECT_EQ(src, back);
}

// Blocks of 4k + 2 bytes: the granules as above, then the last 2 bytes of the 16 rows as one 32-byte half line
// (row i at +2i) closing the tile, so tiles are 16 * BB bytes and follow each other with no gap.
TEST(Interleave, PlacesTheTwoByteTailInAHalfLine) {
  for (TensorType type : {TensorType::Q6_K, TensorType::Q3_K}) {
    const TypeTraits& t = type_traits(type);
    const int64_t rows = 48, cols = 768;  // three groups, three super-blocks per row
    const uint64_t rb = row_bytes(t, cols), bb = t.block_bytes, nb = 3;
    ASSERT_EQ(bb % 4, 2u) << t.name;
    ASSERT_EQ(64 * (bb / 4) + 32, 16 * bb) << "the half line ends the tile";
    std::vector<uint8_t> src = pattern(rb * rows), dst(src.size(), 0xEE), back(src.size()), row(rb);
    interleave_rows(t, src.data(), dst.data(), rows, cols);
    std::vector<int> hits(dst.size(), 0);  // every interleaved byte is written exactly once
    for (int64_t r = 0; r < rows; ++r) {
      for (uint64_t b = 0; b < nb; ++b) {
        const uint64_t tile = (r / 16) * 16 * rb + b * 16 * bb;
        for (uint64_t k = 0; k < bb / 4; ++k) {
          const uint64_t plain = r * rb + b * bb + 4 * k, inter = tile + 64 * k + 4 * (r % 16);
          ASSERT_EQ(std::memcmp(src.data() + plain, dst.data() + inter, 4), 0)
              << t.name << " r=" << r << " b=" << b << " k=" << k;
          for (int j = 0; j < 4; ++j) ++hits[inter + j];
        }
        const uint64_t plain = r * rb + b * bb + bb - 2, inter = tile + 64 * (bb / 4) + 2 * (r % 16);
        ASSERT_EQ(std::memcmp(src.data() + plain, dst.data() + inter, 2), 0) << t.name << " r=" << r << " b=" << b;
        for (int j = 0; j < 2; ++j) ++hits[inter + j];
      }
      interleaved_row(t, dst.data() + (r / 16) * 16 * rb, r % 16, cols, row.data());
      ASSERT_EQ(std::memcmp(row.data(), src.data() + r * rb, rb), 0) << t.name << " interleaved_row r=" << r;
    }
    for (size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i], 1) << t.name << " byte " << i;
    // Q6_K: d (plain bytes 208..209) of row 5, block 1, group 1 sits at 16 * 210 + 3328 + 10 of that group.
    if (type == TensorType::Q6_K) {
      const uint64_t r = 21, plain = r * rb + 1 * bb + 208, inter = 16 * rb + 1 * 3360 + 3328 + 2 * 5;
      EXPECT_EQ(std::memcmp(src.data() + plain, dst.data() + inter, 2), 0);
    }
    deinterleave_rows(t, dst.data(), back.data(), rows, cols);
    EXPECT_EQ(src, back) << t.name;
  }
}

// Round trip for every type with a layout, at a few shapes (32-element and 256-element blocks).
TEST(Interleave, RoundTripsEveryInterleavableType) {
  int tested = 0;
  for (uint32_t id = 0; id < 64; ++id) {
    const TypeTraits* tp = find_type(id);
    if (tp == nullptr || !interleavable(*tp)) continue;
    const TypeTraits& t = *tp;
    ++tested;
    for (int64_t cols : {256, 512}) {
      const int64_t rows = 32;
      const uint64_t rb = row_bytes(t, cols);
      std::vector<uint8_t> src = pattern(rb * rows), dst(src.size()), back(src.size()), row(rb);
      interleave_rows(t, src.data(), dst.data(), rows, cols);
      deinterleave_rows(t, dst.data(), back.data(), rows, cols);
      EXPECT_EQ(src, back) << t.name << " cols=" << cols;
      interleaved_row(t, dst.data() + 16 * rb, 7, cols, row.data());
      EXPECT_EQ(std::memcmp(row.data(), src.data() + 23 * rb, rb), 0) << t.name << " cols=" << cols;
    }
  }
  EXPECT_GE(tested, 10);
}

TEST(Interleave, KnowsWhichTypesQualify) {
  for (TensorType q : {TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K,
                       TensorType::IQ4_XS, TensorType::Q4_0, TensorType::Q8_0})
    EXPECT_TRUE(interleavable(type_traits(q))) << type_traits(q).name;
  // Unquantized types, and odd block sizes (MXFP4: 17 bytes) that split into neither granules nor a 2-byte tail.
  for (TensorType q : {TensorType::MXFP4, TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::I8})
    EXPECT_FALSE(interleavable(type_traits(q))) << type_traits(q).name;
}

TEST(Interleave, RejectsShapesAndTypesItCannotHold) {
  const TypeTraits& q4 = type_traits(TensorType::Q4_K);
  std::vector<uint8_t> a(row_bytes(q4, 256) * 32), b(a.size());
  EXPECT_THROW(interleave_rows(q4, a.data(), b.data(), 24, 256), InputError);   // not whole groups
  EXPECT_THROW(interleave_rows(q4, a.data(), b.data(), 16, 100), InputError);   // not whole blocks
  EXPECT_THROW(interleave_rows(type_traits(TensorType::MXFP4), a.data(), b.data(), 16, 256), InputError);
  EXPECT_THROW(interleave_rows(type_traits(TensorType::F16), a.data(), b.data(), 16, 256), InputError);
}

}  // namespace
}  // namespace strata
