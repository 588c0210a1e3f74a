// A sampled token and its log-probabilities: what a runner produces per
// sequence and step, and what the prefill worker hands the decode worker as
// the first token of a remote prefill.
#pragma once

#include <cstdint>
#include <vector>

namespace pdserve::protocol {

struct TokenLogprob {
  int32_t token_id = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  uint64_t seq_id = 0;
  int32_t token_id = 0;
  float logprob = 0.0f;           // when num_logprobs >= 0
  std::vector<TokenLogprob> top;  // the top num_logprobs, most likely first
};

}  // namespace pdserve::protocol
