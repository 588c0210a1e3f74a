// What every floor carries of a request for tokens, in one struct rather than
// retyped field by field: the router's ChoiceSpec, the internal API's
// GenerateRequest and PrefillRequest and the engine's RequestSpec extend it,
// and each is made from the one before by copying this part.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/protocol/sampling_params.h"

namespace pdserve::protocol {

struct PromptRequest {
  std::vector<int32_t> prompt_ids;
  SamplingParams sampling;
  std::string cache_salt;  // requests share cached KV only with the same salt
  int priority = 0;        // lower value is served first; ties by arrival
};

}  // namespace pdserve::protocol
