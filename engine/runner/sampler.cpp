#include "engine/runner/sampler.h"

#include <algorithm>
#include <limits>
#include <random>
#include <utility>

#include "engine/backend/cpu/cpu_sampler.h"

namespace pdserve::runner {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void apply_penalties(std::span<float> logits, const SamplingContext& ctx) {
  const backend::SamplingRow p = sampling_row(*ctx.params);
  if (!backend::has_penalties(p)) return;
  const auto vocab = static_cast<int32_t>(logits.size());
  std::vector<char> seen(logits.size(), 0);
  std::vector<int32_t> counts(logits.size(), 0);
  for (int32_t t : ctx.prompt_ids)
    if (t >= 0 && t < vocab) seen[static_cast<size_t>(t)] = 1;
  for (int32_t t : ctx.output_ids)
    if (t >= 0 && t < vocab) ++counts[static_cast<size_t>(t)];
  for (size_t t = 0; t < logits.size(); ++t)
    logits[t] = backend::penalized(logits[t], seen[t] || counts[t] > 0, counts[t], p);
}

// Unless that leaves no token (a constraint that can only end: it wins over
// min_tokens, as in LlmRunner::finish_mask).
void mask_stop_tokens(std::span<float> logits, const SamplingContext& ctx) {
  std::vector<std::pair<size_t, float>> blocked;
  for (int32_t t : blocked_stop_tokens(*ctx.params, ctx.output_ids.size(), ctx.eos_token_ids)) {
    if (t < 0 || t >= static_cast<int32_t>(logits.size())) continue;
    blocked.emplace_back(static_cast<size_t>(t), logits[static_cast<size_t>(t)]);
    logits[static_cast<size_t>(t)] = kNegInf;
  }
  if (!blocked.empty() &&
      std::all_of(logits.begin(), logits.end(), [](float v) { return v == kNegInf; }))
    for (const auto& [t, v] : blocked) logits[t] = v;
}

// min_tokens masking and penalties, in place.
void process_logits(std::span<float> logits, const SamplingContext& ctx) {
  mask_stop_tokens(logits, ctx);
  apply_penalties(logits, ctx);
}

}  // namespace

uint64_t sequence_seed(const SamplingParams& params) {
  if (params.seed) return *params.seed;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

std::vector<int32_t> blocked_stop_tokens(const SamplingParams& params, size_t num_generated,
                                         std::span<const int32_t> eos_token_ids) {
  std::vector<int32_t> blocked;
  if (static_cast<int64_t>(num_generated) >= params.min_tokens) return blocked;
  if (!params.ignore_eos) blocked.assign(eos_token_ids.begin(), eos_token_ids.end());
  blocked.insert(blocked.end(), params.stop_token_ids.begin(), params.stop_token_ids.end());
  return blocked;
}

backend::SamplingRow sampling_row(const SamplingParams& params) {
  backend::SamplingRow r;
  r.temperature = params.temperature;
  r.top_k = params.top_k;
  r.top_p = params.top_p;
  r.min_p = params.min_p;
  r.repetition_penalty = params.repetition_penalty;
  r.presence_penalty = params.presence_penalty;
  r.frequency_penalty = params.frequency_penalty;
  r.num_logprobs = params.num_logprobs;
  return r;
}

SampledToken sample_token(std::span<float> logits, const SamplingContext& ctx) {
  const SamplingParams& p = *ctx.params;
  std::vector<float> raw;
  if (p.num_logprobs >= 0) raw.assign(logits.begin(), logits.end());
  process_logits(logits, ctx);
  SampledToken out;
  if (p.temperature <= backend::kGreedyTemperature) {
    out.token_id = backend::cpu::argmax(logits);
  } else {
    for (float& v : logits) v /= p.temperature;
    out.token_id =
        backend::cpu::draw(logits, sampling_row(p), uniform_draw(ctx.seed, ctx.output_ids.size()));
  }
  fill_logprobs(raw, p.num_logprobs, &out);
  return out;
}

std::vector<double> sampling_probs(std::span<float> logits, const SamplingContext& ctx) {
  const SamplingParams& p = *ctx.params;
  process_logits(logits, ctx);
  std::vector<double> probs(logits.size(), 0.0);
  if (p.temperature <= backend::kGreedyTemperature) {
    probs[static_cast<size_t>(backend::cpu::argmax(logits))] = 1.0;
    return probs;
  }
  for (float& v : logits) v /= p.temperature;
  const backend::cpu::SortedDistribution d = backend::cpu::filtered(logits, sampling_row(p));
  double total = 0.0;
  for (size_t i = 0; i < d.keep; ++i) total += d.probs[i];
  for (size_t i = 0; i < d.keep; ++i) probs[static_cast<size_t>(d.order[i])] = d.probs[i] / total;
  return probs;
}

int32_t draw_from(std::span<const double> probs, double u) {
  double total = 0.0;
  for (double q : probs) total += q;
  const double target = u * total;
  double acc = 0.0;
  int32_t last = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] <= 0.0) continue;
    acc += probs[i];
    last = static_cast<int32_t>(i);
    if (target < acc) return last;
  }
  return last;
}

void fill_logprobs(std::span<const float> raw_logits, int num_logprobs, SampledToken* token) {
  if (num_logprobs < 0) return;
  std::vector<std::pair<int32_t, float>> top;
  token->logprob = backend::cpu::token_logprobs(raw_logits, token->token_id, num_logprobs, &top);
  token->top.clear();
  for (const auto& [id, logprob] : top) token->top.push_back({id, logprob});
}

}  // namespace pdserve::runner
