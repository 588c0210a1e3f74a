#include "router/policies/least_load.h"

#include "router/policies/eligible.h"

namespace pdserve::router {

const WorkerView* LeastLoadPolicy::pick(const std::vector<const WorkerView*>& candidates,
                                        uint64_t turn) {
  std::vector<const WorkerView*> best;
  for (const WorkerView* w : candidates) {
    if (!best.empty()) {
      const WorkerView* b = best.front();
      const int lw = worker_load(*w), lb = worker_load(*b);
      if (lw > lb || (lw == lb && w->load.num_free_blocks < b->load.num_free_blocks)) continue;
      if (lw < lb || w->load.num_free_blocks > b->load.num_free_blocks) best.clear();
    }
    best.push_back(w);
  }
  return best.empty() ? nullptr : best[turn % best.size()];
}

Result<Choice> LeastLoadPolicy::choose(const RouteRequest& req, const WorkerSnapshot& workers) {
  const WorkerView* d =
      pick(policies::candidates(req, workers, WorkerRole::kDecode), decode_turn_++);
  if (!d) return policies::no_decode_worker(req);
  Choice c;
  c.decode = *d;
  if (req.want_prefill) {
    const WorkerView* p =
        pick(policies::candidates(req, workers, WorkerRole::kPrefill), prefill_turn_++);
    if (p) c.prefill = *p;
  }
  return c;
}

}  // namespace pdserve::router
