#include "engine/scheduler/stop_checker.h"

#include <algorithm>

namespace pdserve::scheduler {
namespace {

bool contains(const std::vector<int32_t>& ids, int32_t token) {
  return std::find(ids.begin(), ids.end(), token) != ids.end();
}

}  // namespace

StopDecision check_stop(const Request& request, const std::vector<int32_t>& eos_token_ids,
                        int max_model_len) {
  const int num_outputs = static_cast<int>(request.output_ids.size());
  if (num_outputs > 0 && num_outputs >= request.spec.sampling.min_tokens) {
    const int32_t token = request.output_ids.back();
    if ((!request.spec.sampling.ignore_eos && contains(eos_token_ids, token)) ||
        contains(request.spec.sampling.stop_token_ids, token)) {
      return {FinishReason::kStop, token};
    }
  }
  if (num_outputs >= request.max_tokens || request.num_tokens() >= max_model_len) {
    return {FinishReason::kLength, std::nullopt};
  }
  return {};
}

}  // namespace pdserve::scheduler
