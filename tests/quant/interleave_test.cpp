// The interleaved layout (quant/interleave.h): exact byte positions, round trip, and clear errors.
#include "quant/interleave.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "util/error.h"

namespace strata {
namespace {

TEST(Interleave, PlacesEveryGranuleWhereTheLayoutSays) {
  const TypeTraits& t = type_traits(TensorType::Q4_K);
  const int64_t rows = 32, cols = 512;  // two groups, two super-blocks per row
  const uint64_t rb = row_bytes(t, cols), bb = t.block_bytes;
  std::vector<uint8_t> src(rb * rows), dst(src.size()), back(src.size());
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 131 + (i >> 8) * 7);
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

TEST(Interleave, KnowsWhichTypesQualify) {
  for (TensorType q : {TensorType::Q2_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::IQ4_XS})
    EXPECT_TRUE(interleavable(type_traits(q))) << type_traits(q).name;
  for (TensorType q : {TensorType::Q3_K, TensorType::Q6_K, TensorType::Q8_0, TensorType::F32, TensorType::F16})
    EXPECT_FALSE(interleavable(type_traits(q))) << type_traits(q).name;
}

TEST(Interleave, RejectsShapesAndTypesItCannotHold) {
  const TypeTraits& q4 = type_traits(TensorType::Q4_K);
  std::vector<uint8_t> a(row_bytes(q4, 256) * 32), b(a.size());
  EXPECT_THROW(interleave_rows(q4, a.data(), b.data(), 24, 256), InputError);   // not whole groups
  EXPECT_THROW(interleave_rows(q4, a.data(), b.data(), 16, 100), InputError);   // not whole blocks
  EXPECT_THROW(interleave_rows(type_traits(TensorType::Q6_K), a.data(), b.data(), 16, 256), InputError);
}

}  // namespace
}  // namespace strata
