// Service-level objectives for goodput: `ttft=200ms,tpot=25ms,e2e=2s`.
#pragma once

#include <optional>
#include <string_view>

#include "common/base/status.h"

namespace pdserve::bench {

struct Slo {
  std::optional<double> ttft_s;
  std::optional<double> tpot_s;
  std::optional<double> e2e_s;
  bool empty() const { return !ttft_s && !tpot_s && !e2e_s; }
};

// Comma-separated key=value; keys ttft, tpot, e2e; values a positive number
// with unit us, ms or s (ms when none, as vLLM's --goodput). Errors name the
// offending item: "--slo: unknown key 'foo' (use ttft, tpot, e2e)".
Result<Slo> parse_slo(std::string_view text);

}  // namespace pdserve::bench
