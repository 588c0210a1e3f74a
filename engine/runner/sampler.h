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

#include "engine/backend/sampling_row.h"
#include "engine/runner/model_runner.h"

namespace pdserve::runner {

struct SamplingContext {
  const SamplingParams* params = nullptr;
  std::span<const int32_t> prompt_ids;
  std::span<const int32_t> output_ids;  // tokens generated so far
  std::span<const int32_t> eos_token_ids;
  uint64_t seed = 0;  // params->seed, or one drawn at admission
};

// The tokens min_tokens keeps from being sampled now: the stop tokens
// (eos unless ignore_eos, and stop_token_ids) until min_tokens were generated.
std::vector<int32_t> blocked_stop_tokens(const SamplingParams& params, size_t num_generated,
                                         std::span<const int32_t> eos_token_ids);

// logits [vocab] are consumed (modified in place).
SampledToken sample_token(std::span<float> logits, const SamplingContext& ctx);

// The distribution sample_token draws from, over the whole vocabulary
// (zeros outside min_p / top_k / top_p; greedy: 1 on the argmax). Used by
// speculative decoding to verify proposals. logits are consumed.
std::vector<double> sampling_probs(std::span<float> logits, const SamplingContext& ctx);

// Draws a token from probs (need not sum to 1; at least one positive) by
// inverse CDF at u in [0, 1).
int32_t draw_from(std::span<const double> probs, double u);

// Sets token->logprob and token->top (num_logprobs of them) from the model's
// raw logits of that position; nothing when num_logprobs < 0.
void fill_logprobs(std::span<const float> raw_logits, int num_logprobs, SampledToken* token);

// The seed of a new sequence's draws: params.seed, or a fresh random one.
uint64_t sequence_seed(const SamplingParams& params);

// Uniform double in [0, 1) for draw `index` of a sequence seeded with seed
// (the same on every backend).
using backend::uniform_draw;

// The distribution parameters of params as a backend reads them (the
// history slot, mask row, seed and draw index left at their defaults).
backend::SamplingRow sampling_row(const SamplingParams& params);

}  // namespace pdserve::runner
