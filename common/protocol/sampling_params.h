// Per-request sampling parameters, as the OpenAI API and vLLM define them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/protocol/output_constraint.h"

namespace pdserve::protocol {

struct SamplingParams {
  float temperature = 1.0f;         // 0: greedy
  int top_k = 0;                    // <= 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // HF: over prompt and output tokens; 1: off
  float presence_penalty = 0.0f;    // OpenAI: over output tokens; 0: off
  float frequency_penalty = 0.0f;   // OpenAI: over output tokens; 0: off
  std::optional<uint64_t> seed;     // same seed, same output
  int num_logprobs = -1;            // -1: none; 0: the sampled token's; N: plus the top N
  int max_tokens = 16;
  int min_tokens = 0;  // stop tokens are masked until this many were generated
  bool ignore_eos = false;
  std::vector<int32_t> stop_token_ids;  // besides the model's eos ids (unless ignore_eos)
  // Structured outputs: the output follows this constraint (null: free).
  // Shared, immutable: copies of the params do not copy a schema.
  std::shared_ptr<const OutputConstraint> constraint;
};

}  // namespace pdserve::protocol
