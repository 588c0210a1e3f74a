#include "bench/slo.h"

#include <charconv>
#include <cmath>
#include <string>

namespace pdserve::bench {
namespace {

Status bad(std::string_view item, std::string why) {
  return invalid_argument("--slo: '" + std::string(item) + "': " + why);
}

// "200ms" -> 0.2, "2s" -> 2, "150" -> 0.15 (ms), "500us" -> 0.0005.
Result<double> parse_duration(std::string_view item, std::string_view v) {
  double scale = 1e-3;
  if (v.ends_with("us")) {
    scale = 1e-6;
    v.remove_suffix(2);
  } else if (v.ends_with("ms")) {
    v.remove_suffix(2);
  } else if (v.ends_with("s")) {
    scale = 1.0;
    v.remove_suffix(1);
  }
  double x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || !std::isfinite(x) || x <= 0)
    return bad(item, "the value must be a positive duration such as 200ms or 2s");
  return x * scale;
}

}  // namespace

Result<Slo> parse_slo(std::string_view text) {
  Slo slo;
  if (text.empty()) return slo;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(pos, comma - pos);
    pos = comma + 1;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return bad(item, "expected key=value, e.g. ttft=200ms");
    const std::string_view key = item.substr(0, eq);
    PD_ASSIGN_OR_RETURN(double seconds, parse_duration(item, item.substr(eq + 1)));
    if (key == "ttft") {
      slo.ttft_s = seconds;
    } else if (key == "tpot") {
      slo.tpot_s = seconds;
    } else if (key == "e2e" || key == "e2el") {
      slo.e2e_s = seconds;
    } else {
      return bad(item, "unknown key '" + std::string(key) + "' (use ttft, tpot, e2e)");
    }
  }
  return slo;
}

}  // namespace pdserve::bench
