#include "engine/runner/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace pdserve::runner {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// log-softmax of logits into out.
void log_softmax(std::span<const float> logits, std::vector<float>& out) {
  float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - mx));
  const float lse = mx + static_cast<float>(std::log(sum));
  out.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - lse;
}

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

void apply_penalties(std::span<float> logits, const SamplingContext& ctx) {
  const SamplingParams& p = *ctx.params;
  const auto vocab = static_cast<int32_t>(logits.size());
  if (p.repetition_penalty != 1.0f) {
    std::vector<char> seen(logits.size(), 0);
    for (auto ids : {ctx.prompt_ids, ctx.output_ids})
      for (int32_t t : ids)
        if (t >= 0 && t < vocab) seen[static_cast<size_t>(t)] = 1;
    for (size_t t = 0; t < logits.size(); ++t) {
      if (!seen[t]) continue;
      logits[t] = logits[t] > 0 ? logits[t] / p.repetition_penalty : logits[t] * p.repetition_penalty;
    }
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    std::unordered_map<int32_t, int> counts;
    for (int32_t t : ctx.output_ids)
      if (t >= 0 && t < vocab) ++counts[t];
    for (auto [t, c] : counts)
      logits[static_cast<size_t>(t)] -= p.frequency_penalty * static_cast<float>(c) + p.presence_penalty;
  }
}

void mask_stop_tokens(std::span<float> logits, const SamplingContext& ctx) {
  const SamplingParams& p = *ctx.params;
  if (static_cast<int>(ctx.output_ids.size()) >= p.min_tokens) return;
  auto mask = [&](int32_t t) {
    if (t >= 0 && t < static_cast<int32_t>(logits.size())) logits[static_cast<size_t>(t)] = kNegInf;
  };
  if (!p.ignore_eos)
    for (int32_t t : ctx.eos_token_ids) mask(t);
  for (int32_t t : p.stop_token_ids) mask(t);
}

// Draws from softmax(logits) after min_p, top_k and top_p filtering.
int32_t draw(std::span<const float> logits, const SamplingParams& p, double u) {
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)]; });
  const double mx = logits[static_cast<size_t>(order[0])];
  std::vector<double> probs(order.size());
  double sum = 0.0;
  for (size_t i = 0; i < order.size(); ++i) {
    probs[i] = std::exp(static_cast<double>(logits[static_cast<size_t>(order[i])]) - mx);
    sum += probs[i];
  }
  for (double& q : probs) q /= sum;
  size_t keep = order.size();
  if (p.min_p > 0.0f) {
    const double threshold = p.min_p * probs[0];
    keep = static_cast<size_t>(std::partition_point(probs.begin(), probs.begin() + static_cast<ptrdiff_t>(keep),
                                                    [&](double q) { return q >= threshold; }) -
                               probs.begin());
  }
  if (p.top_k > 0) keep = std::min(keep, static_cast<size_t>(p.top_k));
  if (p.top_p < 1.0f) {
    double cum = 0.0;
    size_t i = 0;
    for (; i < keep; ++i) {
      cum += probs[i];
      if (cum >= p.top_p) break;
    }
    keep = std::min(keep, i + 1);
  }
  keep = std::max<size_t>(keep, 1);
  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) total += probs[i];
  double target = u * total, acc = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    acc += probs[i];
    if (target < acc) return order[i];
  }
  return order[keep - 1];
}

}  // namespace

double uniform_draw(uint64_t seed, uint64_t index) {
  uint64_t bits = splitmix64(splitmix64(seed) ^ (index * 0xd1b54a32d192ed03ull));
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

SampledToken sample_token(std::span<float> logits, const SamplingContext& ctx) {
  const SamplingParams& p = *ctx.params;
  std::vector<float> logprobs;
  if (p.num_logprobs >= 0) log_softmax(logits, logprobs);

  mask_stop_tokens(logits, ctx);
  apply_penalties(logits, ctx);
  SampledToken out;
  if (p.temperature <= 1e-5f) {
    out.token_id = argmax(logits);
  } else {
    for (float& v : logits) v /= p.temperature;
    out.token_id = draw(logits, p, uniform_draw(ctx.seed, ctx.output_ids.size()));
  }
  if (p.num_logprobs >= 0) {
    out.logprob = logprobs[static_cast<size_t>(out.token_id)];
    const size_t k = std::min(static_cast<size_t>(p.num_logprobs), logprobs.size());
    std::vector<int32_t> ids(logprobs.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(k), ids.end(), [&](int32_t a, int32_t b) {
      float la = logprobs[static_cast<size_t>(a)], lb = logprobs[static_cast<size_t>(b)];
      return la != lb ? la > lb : a < b;
    });
    for (size_t i = 0; i < k; ++i) out.top.push_back({ids[i], logprobs[static_cast<size_t>(ids[i])]});
  }
  return out;
}

}  // namespace pdserve::runner
