#include "engine/backend/cpu/cpu_sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pdserve::backend::cpu {

SortedDistribution filtered(std::span<const float> logits, const SamplingRow& p) {
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

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

int32_t draw(std::span<const float> logits, const SamplingRow& p, double u) {
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

void log_softmax(std::span<const float> logits, std::vector<float>& out) {
  float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v - mx));
  const float lse = mx + static_cast<float>(std::log(sum));
  out.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - lse;
}

float token_logprobs(std::span<const float> raw_logits, int32_t token, int num_logprobs,
                     std::vector<std::pair<int32_t, float>>* top) {
  std::vector<float> logprobs;
  log_softmax(raw_logits, logprobs);
  const size_t k = std::min(static_cast<size_t>(std::max(num_logprobs, 0)), logprobs.size());
  std::vector<int32_t> ids(logprobs.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(
      ids.begin(), ids.begin() + static_cast<ptrdiff_t>(k), ids.end(), [&](int32_t a, int32_t b) {
        float la = logprobs[static_cast<size_t>(a)], lb = logprobs[static_cast<size_t>(b)];
        return la != lb ? la > lb : a < b;
      });
  top->clear();
  for (size_t i = 0; i < k; ++i) top->emplace_back(ids[i], logprobs[static_cast<size_t>(ids[i])]);
  return logprobs[static_cast<size_t>(token)];
}

}  // namespace pdserve::backend::cpu
