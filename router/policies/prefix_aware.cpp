#include "router/policies/prefix_aware.h"

#include <algorithm>

#include "router/policies/eligible.h"
#include "router/policies/least_load.h"

namespace pdserve::router {

const WorkerView* PrefixAwarePolicy::pick(const RouteRequest& req,
                                          const std::vector<const WorkerView*>& cands,
                                          std::atomic<uint64_t>& turn) {
  if (cands.empty()) return nullptr;
  int max_load = 1;
  for (const WorkerView* w : cands) max_load = std::max(max_load, worker_load(*w));
  const double prompt = std::max(1, req.num_prompt_tokens);
  std::vector<const WorkerView*> best;
  double best_score = 0;
  for (const WorkerView* w : cands) {
    const double hit = std::min(1.0, policies::matched_tokens(req, w->id) / prompt);
    const double score = hit - load_weight_ * worker_load(*w) / max_load;
    if (best.empty() || score > best_score + 1e-12) {
      best = {w};
      best_score = score;
    } else if (score >= best_score - 1e-12) {
      best.push_back(w);
    }
  }
  return LeastLoadPolicy::pick(best, turn++);
}

Result<Choice> PrefixAwarePolicy::choose(const RouteRequest& req, const WorkerSnapshot& workers) {
  const WorkerView* d =
      pick(req, policies::candidates(req, workers, WorkerRole::kDecode), decode_turn_);
  if (!d) return policies::no_decode_worker(req);
  Choice c;
  c.decode = *d;
  if (req.want_prefill) {
    const WorkerView* p =
        pick(req, policies::candidates(req, workers, WorkerRole::kPrefill), prefill_turn_);
    if (p) c.prefill = *p;
  }
  return c;
}

}  // namespace pdserve::router
