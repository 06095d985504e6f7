#include "tiers/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "util/error.h"

namespace strata {
namespace {

std::string lower_trim(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Splits "12.5gb/s" into 12.5 and "gb/s"; throws when there is no number.
double split_number(const std::string& s, std::string& suffix, std::string_view what, std::string_view orig) {
  const char* begin = s.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(v) || v < 0) {
    throw InputError("bad " + std::string(what) + " '" + std::string(orig) + "': expected a non-negative number");
  }
  suffix.assign(end);
  return v;
}

}  // namespace

uint64_t parse_bytes(std::string_view text, std::string_view what) {
  std::string s = lower_trim(text), suf;
  double v = split_number(s, suf, what, text);
  double mul = 0;
  if (suf.empty() || suf == "b") mul = 1;
  else if (suf == "k" || suf == "kib") mul = 1024.0;
  else if (suf == "m" || suf == "mib") mul = 1024.0 * 1024;
  else if (suf == "g" || suf == "gib") mul = 1024.0 * 1024 * 1024;
  else if (suf == "t" || suf == "tib") mul = 1024.0 * 1024 * 1024 * 1024;
  else if (suf == "kb") mul = 1e3;
  else if (suf == "mb") mul = 1e6;
  else if (suf == "gb") mul = 1e9;
  else if (suf == "tb") mul = 1e12;
  else throw InputError("bad " + std::string(what) + " '" + std::string(text) + "': unknown size suffix '" + suf +
                        "' (use K/M/G/T or KiB/MiB/GiB/TiB for powers of 1024, KB/MB/GB/TB for powers of 1000)");
  // Past 2^62 the conversion would overflow; no memory or disk comes near (4 EiB).
  if (v * mul > 0x1p62) throw InputError("bad " + std::string(what) + " '" + std::string(text) + "': too large");
  return static_cast<uint64_t>(std::llround(v * mul));
}

double parse_bandwidth(std::string_view text, std::string_view what) {
  std::string s = lower_trim(text), suf;
  double v = split_number(s, suf, what, text);
  if (suf.size() >= 2 && suf.substr(suf.size() - 2) == "/s") suf.resize(suf.size() - 2);
  if (suf.empty() || suf == "b") return v;
  if (suf == "kb") return v * 1e3;
  if (suf == "mb") return v * 1e6;
  if (suf == "gb") return v * 1e9;
  if (suf == "tb") return v * 1e12;
  if (suf == "gib") return v * 1024.0 * 1024 * 1024;
  if (suf == "mib") return v * 1024.0 * 1024;
  throw InputError("bad " + std::string(what) + " '" + std::string(text) + "': expected e.g. '30GB/s' or '7000MB/s'");
}

double parse_duration(std::string_view text, std::string_view what) {
  std::string s = lower_trim(text), suf;
  double v = split_number(s, suf, what, text);
  if (suf.empty() || suf == "s") return v;
  if (suf == "ms") return v * 1e-3;
  if (suf == "us") return v * 1e-6;
  if (suf == "ns") return v * 1e-9;
  throw InputError("bad " + std::string(what) + " '" + std::string(text) + "': expected e.g. '300ns', '80us'");
}

std::string format_bytes(double bytes) {
  char buf[48];
  const double a = std::fabs(bytes);
  if (a >= 1e12) std::snprintf(buf, sizeof buf, "%.2f TB", bytes / 1e12);
  else if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", bytes / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  else if (a >= 1e3) std::snprintf(buf, sizeof buf, "%.1f KB", bytes / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f B", bytes);
  return buf;
}

std::string format_bandwidth(double bps) {
  char buf[48];
  if (bps >= 1e9) std::snprintf(buf, sizeof buf, "%.1f GB/s", bps / 1e9);
  else if (bps >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB/s", bps / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0f B/s", bps);
  return buf;
}

}  // namespace strata
