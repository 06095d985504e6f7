// Range-checked numbers from parsed JSON. nlohmann's get<T>() turns a float into an integer with a plain
// cast (undefined behaviour when it does not fit: "threads": 1e46) and narrows integers silently; the
// readers of user-editable JSON (machine profiles, plans, usage profiles) use these instead.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace strata {

// v as T; InputError naming `what` when v is not a number or its value does not fit T (integers: a
// whole number in range; float: finite and within its range).
template <class T>
T json_to(const nlohmann::json& v, const std::string& what) {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
  if (!v.is_number()) throw InputError(what + ": expected a number");
  if constexpr (std::is_floating_point_v<T>) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(std::numeric_limits<T>::max()))
      throw InputError(what + ": " + v.dump() + " is out of range");
    return static_cast<T>(d);
  } else {
    bool fits = false;
    if (v.is_number_unsigned()) {
      fits = v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    } else if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      fits = std::is_signed_v<T> ? x >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                                       x <= static_cast<int64_t>(std::numeric_limits<T>::max())
                                 : x >= 0 && static_cast<uint64_t>(x) <= std::numeric_limits<T>::max();
    } else {
      const double d = v.get<double>();
      // max + 1 is a power of two, exact as a double; the bound is exclusive so the cast below is defined.
      double hi;
      if constexpr (sizeof(T) == 8) hi = std::is_signed_v<T> ? 0x1p63 : 0x1p64;
      else hi = static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
      const double lo = std::is_signed_v<T> ? static_cast<double>(std::numeric_limits<T>::min()) : 0.0;
      fits = std::isfinite(d) && std::floor(d) == d && d >= lo && d < hi;
      if (fits) return static_cast<T>(d);
    }
    if (!fits) throw InputError(what + ": " + v.dump() + " is not a whole number that fits");
    return v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>()) : static_cast<T>(v.get<int64_t>());
  }
}

// j[key] as T (j.at: a missing key is nlohmann's out_of_range, as before).
template <class T>
T json_at(const nlohmann::json& j, const char* key) {
  return json_to<T>(j.at(key), key);
}

// An array of numbers as std::vector<T>.
template <class T>
std::vector<T> json_vector(const nlohmann::json& v, const std::string& what) {
  if (!v.is_array()) throw InputError(what + ": expected an array");
  std::vector<T> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) out.push_back(json_to<T>(v[i], what + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace strata
