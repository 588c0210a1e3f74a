// Stop conditions, checked after each token is appended to a request.
// vLLM's order: nothing stops before min_tokens outputs except the length
// limits; then eos (unless ignore_eos) and stop_token_ids give "stop"; then
// max_tokens or max_model_len give "length". Pure, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/scheduler/request.h"

namespace pdserve::scheduler {

struct StopDecision {
  FinishReason reason = FinishReason::kNone;
  std::optional<int32_t> stop_token_id;  // the token that stopped it ("stop")
};

// `request` already holds the new token as its last output.
StopDecision check_stop(const Request& request, const std::vector<int32_t>& eos_token_ids,
                        int max_model_len);

}  // namespace pdserve::scheduler
