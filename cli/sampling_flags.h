// Command-line flags for SamplingParams, shared by generate and the benches.
#pragma once

#include <vector>

#include "common/base/status.h"
#include "common/protocol/sampling_params.h"

namespace CLI {
class App;
}

namespace pdserve::cli {

struct SamplingFlags {
  protocol::SamplingParams params;
  long long seed = -1;  // < 0: unseeded
  std::vector<int> stop_token_ids;
};

void add_sampling_flags(CLI::App& app, SamplingFlags& flags);
// The flags of the distribution a token is drawn from (temperature, top-k,
// top-p, min-p, penalties, logprobs), which add_sampling_flags includes.
void add_distribution_flags(CLI::App& app, protocol::SamplingParams& params);
// Checks ranges the parser cannot (cross-field), and fills params.
Result<protocol::SamplingParams> sampling_params(const SamplingFlags& flags);

}  // namespace pdserve::cli
