// Fault injection for the engine's containment drills (docs/RELIABILITY.md):
// makes one execute() of the LlmRunner fail the way a real fault would, so
// that tests and operators can watch the engine fail only that step's
// requests and keep serving. Off unless configured.
//
//   PDSERVE_ENGINE_FAULT=<kind>:<n>    (n >= 1; every process that loads a model)
//     error   the n-th execute() returns kInternal before computing anything
//     check   the n-th execute() fails a PD_CHECK after layer 0 wrote its KV
//     swap    the n-th execute() that moves blocks to or from the host tier
//             fails before its first copy
#pragma once

#include <cstdint>
#include <string_view>

#include "common/base/status.h"

namespace pdserve::runner {

struct StepFault {
  enum class Kind { kNone, kError, kCheck, kSwap };
  Kind kind = Kind::kNone;
  int64_t at = 0;  // 1-based count of the executes (kSwap: of the swapping ones)
};

// Parses "<kind>:<n>"; kInvalidArgument, naming the text, otherwise.
Result<StepFault> parse_step_fault(std::string_view text);
// PDSERVE_ENGINE_FAULT parsed; no fault when it is unset or empty.
Result<StepFault> step_fault_from_env();

}  // namespace pdserve::runner
