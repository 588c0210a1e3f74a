#include "engine/runner/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
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
      logits[t] =
          logits[t] > 0 ? logits[t] / p.repetition_penalty : logits[t] * p.repetition_penalty;
    }
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    std::unordered_map<int32_t, int> counts;
    for (int32_t t : ctx.output_ids)
      if (t >= 0 && t < vocab) ++counts[t];
    for (auto [t, c] : counts)
      logits[static_cast<size_t>(t)] -=
          p.frequency_penalty * static_cast<float>(c) + p.presence_penalty;
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

// softmax(logits) in descending order, cut by min_p, top_k and top_p: the
// first `keep` entries of order/probs are the tokens that may be drawn.
struct SortedDistribution {
  std::vector<int32_t> order;
  std::vector<double> probs;
  size_t keep = 0;
};

SortedDistribution filtered(std::span<const float> logits, const SamplingParams& p) {
  SortedDistribution d;
  std::vector<int32_t>& order = d.order;
  order.resize(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  const double mx = logits[static_cast<size_t>(order[0])];
  std::vector<double>& probs = d.probs;
  probs.resize(order.size());
  double sum = 0.0;
  for (size_t i = 0; i < order.size(); ++i) {
    probs[i] = std::exp(static_cast<double>(logits[static_cast<size_t>(order[i])]) - mx);
    sum += probs[i];
  }
  for (double& q : probs) q /= sum;
  size_t keep = order.size();
  if (p.min_p > 0.0f) {
    const double threshold = p.min_p * probs[0];
    keep = static_cast<size_t>(std::partition_point(probs.begin(),
                                                    probs.begin() + static_cast<ptrdiff_t>(keep),
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
  d.keep = std::max<size_t>(keep, 1);
  return d;
}

// Draws from softmax(logits) after min_p, top_k and top_p filtering.
int32_t draw(std::span<const float> logits, const SamplingParams& p, double u) {
  const SortedDistribution d = filtered(logits, p);
  double total = 0.0;
  for (size_t i = 0; i < d.keep; ++i) total += d.probs[i];
  double target = u * total, acc = 0.0;
  for (size_t i = 0; i < d.keep; ++i) {
    acc += d.probs[i];
    if (target < acc) return d.order[i];
  }
  return d.order[d.keep - 1];
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

double uniform_draw(uint64_t seed, uint64_t index) {
  uint64_t bits = splitmix64(splitmix64(seed) ^ (index * 0xd1b54a32d192ed03ull));
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

SampledToken sample_token(std::span<float> logits, const SamplingContext& ctx) {
  const SamplingParams& p = *ctx.params;
  std::vector<float> raw;
  if (p.num_logprobs >= 0) raw.assign(logits.begin(), logits.end());
  process_logits(logits, ctx);
  SampledToken out;
  if (p.temperature <= 1e-5f) {
    out.token_id = argmax(logits);
  } else {
    for (float& v : logits) v /= p.temperature;
    out.token_id = draw(logits, p, uniform_draw(ctx.seed, ctx.output_ids.size()));
  }
  fill_logprobs(raw, p.num_logprobs, &out);
  return out;
}

std::vector<double> sampling_probs(std::span<float> logits, const SamplingContext& ctx) {
  const SamplingParams& p = *ctx.params;
  process_logits(logits, ctx);
  std::vector<double> probs(logits.size(), 0.0);
  if (p.temperature <= 1e-5f) {
    probs[static_cast<size_t>(argmax(logits))] = 1.0;
    return probs;
  }
  for (float& v : logits) v /= p.temperature;
  const SortedDistribution d = filtered(logits, p);
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
  std::vector<float> logprobs;
  log_softmax(raw_logits, logprobs);
  token->logprob = logprobs[static_cast<size_t>(token->token_id)];
  const size_t k = std::min(static_cast<size_t>(num_logprobs), logprobs.size());
  std::vector<int32_t> ids(logprobs.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(
      ids.begin(), ids.begin() + static_cast<ptrdiff_t>(k), ids.end(), [&](int32_t a, int32_t b) {
        float la = logprobs[static_cast<size_t>(a)], lb = logprobs[static_cast<size_t>(b)];
        return la != lb ? la > lb : a < b;
      });
  token->top.clear();
  for (size_t i = 0; i < k; ++i)
    token->top.push_back({ids[i], logprobs[static_cast<size_t>(ids[i])]});
}

}  // namespace pdserve::runner
