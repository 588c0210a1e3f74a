#include "engine/runner/step_fault.h"

#include <charconv>
#include <cstdlib>
#include <string>

namespace pdserve::runner {

Result<StepFault> parse_step_fault(std::string_view text) {
  const Status bad = invalid_argument("PDSERVE_ENGINE_FAULT '" + std::string(text) +
                                      "': expected <error|check|swap>:<n> with n >= 1");
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return bad;
  const std::string_view kind = text.substr(0, colon);
  const std::string_view count = text.substr(colon + 1);
  StepFault fault;
  if (kind == "error") {
    fault.kind = StepFault::Kind::kError;
  } else if (kind == "check") {
    fault.kind = StepFault::Kind::kCheck;
  } else if (kind == "swap") {
    fault.kind = StepFault::Kind::kSwap;
  } else {
    return bad;
  }
  auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), fault.at);
  if (ec != std::errc() || end != count.data() + count.size() || fault.at < 1) return bad;
  return fault;
}

Result<StepFault> step_fault_from_env() {
  const char* env = std::getenv("PDSERVE_ENGINE_FAULT");
  if (env == nullptr || *env == '\0') return StepFault{};
  return parse_step_fault(env);
}

}  // namespace pdserve::runner
