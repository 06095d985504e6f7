// Range-checked JSON numbers: every value that does not fit the target type is an InputError naming the
// field, never a cast with undefined behaviour.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "util/json_number.h"

namespace strata {
namespace {

using json = nlohmann::json;

TEST(JsonNumber, WholeNumbersInRangeConvert) {
  EXPECT_EQ(json_to<uint32_t>(json(7), "x"), 7u);
  EXPECT_EQ(json_to<uint32_t>(json(4294967295u), "x"), 4294967295u);
  EXPECT_EQ(json_to<int>(json(-3), "x"), -3);
  EXPECT_EQ(json_to<int>(json(12.0), "x"), 12);  // a float holding a whole number is fine
  EXPECT_EQ(json_to<uint64_t>(json(18446744073709551615ull), "x"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(json_to<int64_t>(json(-9.0e18), "x"), int64_t{-9000000000000000000});
  EXPECT_DOUBLE_EQ(json_to<double>(json(1.5e300), "x"), 1.5e300);
  EXPECT_FLOAT_EQ(json_to<float>(json(0.25), "x"), 0.25f);
}

TEST(JsonNumber, EverythingElseIsAnInputErrorNamingTheField) {
  const json bad_int[] = {json(1e46), json(-1), json(4294967296ull), json(2.5), json(0x1p64), json(-0x1p63 * 2),
                          json("7"), json(true), json(nullptr), json::array()};
  for (const json& v : bad_int) {
    try {
      (void)json_to<uint32_t>(v, "cpu.threads");
      ADD_FAILURE() << v.dump() << " was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("cpu.threads"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(json_to<int>(json(2147483648.0), "x"), InputError);
  EXPECT_THROW(json_to<int64_t>(json(0x1p63), "x"), InputError);
  EXPECT_THROW(json_to<uint64_t>(json(0x1p64), "x"), InputError);
  EXPECT_THROW(json_to<float>(json(1e300), "x"), InputError);
  EXPECT_THROW(json_vector<int>(json::array({1, 2.5}), "experts[0]"), InputError);
  EXPECT_THROW(json_vector<int>(json(3), "experts[0]"), InputError);
  EXPECT_EQ(json_vector<uint64_t>(json::array({1, 2, 3}), "c"), (std::vector<uint64_t>{1, 2, 3}));
}

}  // namespace
}  // namespace strata
