// round_robin: each role's candidates in turn (one counter per role).
#pragma once

#include <atomic>
#include <cstdint>

#include "router/policies/policy.h"

namespace pdserve::router {

class RoundRobinPolicy : public Policy {
 public:
  Result<Choice> choose(const RouteRequest& req, const WorkerSnapshot& workers) override;

 private:
  std::atomic<uint64_t> next_decode_{0};
  std::atomic<uint64_t> next_prefill_{0};
};

}  // namespace pdserve::router
