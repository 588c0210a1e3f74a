#include "router/worker_health_metrics.h"

#include <set>

namespace pdserve::router {
namespace {

server::Gauge workers_gauge(server::MetricsRegistry& m, const char* role, const char* state) {
  return m.gauge("pdserve:router_workers", "Workers known to the router, by role and health",
                 {{"role", role}, {"state", state}});
}

}  // namespace

WorkerHealthMetrics::WorkerHealthMetrics(server::MetricsRegistry& registry)
    : registry_(registry),
      decode_healthy_(workers_gauge(registry, "decode", "healthy")),
      decode_unhealthy_(workers_gauge(registry, "decode", "unhealthy")),
      prefill_healthy_(workers_gauge(registry, "prefill", "healthy")),
      prefill_unhealthy_(workers_gauge(registry, "prefill", "unhealthy")) {}

WorkerHealthMetrics::Series& WorkerHealthMetrics::series_for(const WorkerView& w) {
  auto it = workers_.find(w.id);
  if (it != workers_.end()) return it->second;
  const server::MetricLabels labels{{"role", std::string(role_name(w.role))}, {"worker", w.id}};
  Series s;
  s.healthy = registry_.gauge("pdserve:router_worker_healthy",
                              "1 when the router sends requests to this worker", labels);
  s.inflight =
      registry_.gauge("pdserve:router_worker_requests_inflight",
                      "Requests the router sent to this worker and has not seen end", labels);
  return workers_.emplace(w.id, s).first->second;
}

void WorkerHealthMetrics::update(const WorkerSnapshot& snapshot) {
  int counts[2][2] = {};  // [role][healthy]
  std::set<std::string> present;
  for (const WorkerView& w : snapshot.workers) {
    Series& s = series_for(w);
    s.healthy.set(w.healthy ? 1 : 0);
    s.inflight.set(w.num_inflight);
    ++counts[w.role == WorkerRole::kPrefill][w.healthy];
    present.insert(w.id);
  }
  for (auto& [id, s] : workers_) {
    if (present.count(id) > 0) continue;
    s.healthy.set(0);
    s.inflight.set(0);
  }
  decode_healthy_.set(counts[0][1]);
  decode_unhealthy_.set(counts[0][0]);
  prefill_healthy_.set(counts[1][1]);
  prefill_unhealthy_.set(counts[1][0]);
}

}  // namespace pdserve::router
