// The host sampler's steps over one row of logits, shared by the CPU
// backend's sample_rows and the runner's host sampler (runner/sampler.h),
// so both follow one definition: softmax sorted in descending order (ties:
// the lower id first), cut by min_p, then top_k, then top_p (each over the
// probabilities of the whole vocabulary), and a draw by inverse CDF in that
// order.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "engine/backend/sampling_row.h"

namespace pdserve::backend::cpu {

// softmax(logits) in descending order, cut by min_p, top_k and top_p: the
// first `keep` entries of order/probs are the tokens that may be drawn.
struct SortedDistribution {
  std::vector<int32_t> order;
  std::vector<double> probs;
  size_t keep = 0;
};
SortedDistribution filtered(std::span<const float> logits, const SamplingRow& p);

// The first index of the largest value.
int32_t argmax(std::span<const float> v);

// Draws from softmax(logits) after min_p, top_k and top_p at u in [0, 1).
int32_t draw(std::span<const float> logits, const SamplingRow& p, double u);

// log-softmax of logits into out.
void log_softmax(std::span<const float> logits, std::vector<float>& out);

// log_softmax(raw_logits) of `token`, and into top (replaced) the
// num_logprobs most likely (id, logprob), most likely first, ties by id.
float token_logprobs(std::span<const float> raw_logits, int32_t token, int num_logprobs,
                     std::vector<std::pair<int32_t, float>>* top);

}  // namespace pdserve::backend::cpu
