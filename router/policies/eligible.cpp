#include "router/policies/eligible.h"

#include <algorithm>

namespace pdserve::router {

int worker_load(const WorkerView& w) {
  return std::max(w.load.num_waiting + w.load.num_running, w.num_inflight);
}

namespace policies {

std::vector<const WorkerView*> candidates(const RouteRequest& req, const WorkerSnapshot& s,
                                          WorkerRole role) {
  std::vector<const WorkerView*> out;
  for (const WorkerView& w : s.workers) {
    if (w.role != role || !w.healthy) continue;
    if (!req.model.empty() && !w.model.empty() && w.model != req.model) continue;
    if (std::find(req.exclude.begin(), req.exclude.end(), w.id) != req.exclude.end()) continue;
    out.push_back(&w);
  }
  return out;
}

Status no_decode_worker(const RouteRequest& req) {
  std::string m = "no healthy decode worker";
  if (!req.model.empty()) m += " for model '" + req.model + "'";
  if (!req.exclude.empty()) m += " (" + std::to_string(req.exclude.size()) + " excluded)";
  return unavailable(m);
}

int matched_tokens(const RouteRequest& req, std::string_view id) {
  for (const PrefixMatch& m : req.prefix_matches)
    if (m.worker_id == id) return m.num_matched_tokens;
  return 0;
}

}  // namespace policies
}  // namespace pdserve::router
