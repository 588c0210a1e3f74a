// least_load: the candidate with the smallest worker_load() (policy.h);
// ties go to the one with more free KV blocks, then in turn (a counter), so
// idle workers share a burst.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "router/policies/policy.h"

namespace pdserve::router {

class LeastLoadPolicy : public Policy {
 public:
  Result<Choice> choose(const RouteRequest& req, const WorkerSnapshot& workers) override;

  // The pick among candidates (nullptr when empty); `turn` breaks full ties.
  static const WorkerView* pick(const std::vector<const WorkerView*>& candidates, uint64_t turn);

 private:
  std::atomic<uint64_t> decode_turn_{0};  // one per role: both advance on every choose
  std::atomic<uint64_t> prefill_turn_{0};
};

}  // namespace pdserve::router
