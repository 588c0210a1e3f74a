#include "router/policies/round_robin.h"

#include "router/policies/eligible.h"

namespace pdserve::router {

Result<Choice> RoundRobinPolicy::choose(const RouteRequest& req, const WorkerSnapshot& workers) {
  auto decode = policies::candidates(req, workers, WorkerRole::kDecode);
  if (decode.empty()) return policies::no_decode_worker(req);
  Choice c;
  c.decode = *decode[next_decode_.fetch_add(1) % decode.size()];
  if (req.want_prefill) {
    auto prefill = policies::candidates(req, workers, WorkerRole::kPrefill);
    if (!prefill.empty()) c.prefill = *prefill[next_prefill_.fetch_add(1) % prefill.size()];
  }
  return c;
}

}  // namespace pdserve::router
