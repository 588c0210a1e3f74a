// Turns one sequence's logits into the next token, on the host, following
// vLLM's order:
//   raw logprobs (log-softmax of the model's logits, before any processing)
//   -> min_tokens: stop tokens masked until min_tokens were generated
//   -> repetition penalty (HF: prompt and output tokens; divide positive
//      logits, multiply negative ones) -> presence/frequency penalties
//      (OpenAI: output tokens) -> greedy argmax when temperature == 0, else
//   -> temperature -> min_p -> top_k -> top_p -> draw.
// Draws are reproducible: the uniform number of draw k of a sequence is a
// hash of (seed, k), so the same seed gives the same output whatever the
// batch, and a preempted sequence resumes identically.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/runner/model_runner.h"

namespace pdserve::runner {

struct SamplingContext {
  const SamplingParams* params = nullptr;
  std::span<const int32_t> prompt_ids;
  std::span<const int32_t> output_ids;  // tokens generated so far
  std::span<const int32_t> eos_token_ids;
  uint64_t seed = 0;                    // params->seed, or one drawn at admission
};

// logits [vocab] are consumed (modified in place).
SampledToken sample_token(std::span<float> logits, const SamplingContext& ctx);

// Uniform double in [0, 1) for draw `index` of a sequence seeded with seed.
double uniform_draw(uint64_t seed, uint64_t index);

}  // namespace pdserve::runner
