// HugeBuffer: 2 MiB-aligned, sized in whole huge pages, writable end to end, movable, empty when asked
// for nothing, and a clear error (not an abort) when the mapping cannot be made.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "util/error.h"
#include "util/huge_buffer.h"

namespace strata {
namespace {

TEST(HugeBuffer, AlignedRoundedAndWritable) {
  for (size_t bytes : {size_t{1}, HugeBuffer::kHugePage - 1, HugeBuffer::kHugePage, HugeBuffer::kHugePage + 1,
                       size_t{5} << 20}) {
    HugeBuffer b(bytes);
    ASSERT_NE(b.data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % HugeBuffer::kHugePage, 0u) << bytes;
    EXPECT_EQ(b.size() % HugeBuffer::kHugePage, 0u);
    EXPECT_GE(b.size(), bytes);
    EXPECT_LT(b.size(), bytes + HugeBuffer::kHugePage);
    std::memset(b.data(), 0x5A, b.size());
    EXPECT_EQ(b.data()[b.size() - 1], 0x5A);
  }
}

TEST(HugeBuffer, EmptyAndMoved) {
  HugeBuffer none(0);
  EXPECT_EQ(none.data(), nullptr);
  EXPECT_EQ(none.size(), 0u);
  HugeBuffer a(100);
  a.data()[0] = 7;
  uint8_t* const p = a.data();
  HugeBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.data()[0], 7);
  HugeBuffer c(10);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(b.size(), 0u);
}

TEST(HugeBuffer, ImpossibleSizeIsAnError) {
  // More address space than x86-64 user space has: the mapping fails and says how much was asked.
  EXPECT_THROW(HugeBuffer(size_t{1} << 62), Error);
}

}  // namespace
}  // namespace strata
