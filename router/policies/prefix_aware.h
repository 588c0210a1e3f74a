// prefix_aware: prefers the worker that already holds the longest prefix of
// the prompt, blended with load. For each candidate w of a role:
//
//   hit(w)   = matched_tokens(w) / max(1, num_prompt_tokens)        in [0, 1]
//   rload(w) = worker_load(w) / max(1, max worker_load over the candidates)   in [0, 1]
//   score(w) = hit(w) - load_weight * rload(w)
//
// The highest score wins; ties are broken as least_load does. load_weight 0:
// pure cache affinity; large: least load. The same rule picks P among the
// prefill workers (their caches are indexed too).
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "router/policies/policy.h"

namespace pdserve::router {

class PrefixAwarePolicy : public Policy {
 public:
  explicit PrefixAwarePolicy(double load_weight) : load_weight_(load_weight) {}
  Result<Choice> choose(const RouteRequest& req, const WorkerSnapshot& workers) override;

 private:
  const WorkerView* pick(const RouteRequest& req, const std::vector<const WorkerView*>& cands,
                         std::atomic<uint64_t>& turn);

  const double load_weight_;
  std::atomic<uint64_t> decode_turn_{0};  // one per role: both advance on every choose
  std::atomic<uint64_t> prefill_turn_{0};
};

}  // namespace pdserve::router
