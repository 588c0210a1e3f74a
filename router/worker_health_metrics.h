// The router's per-worker health metrics, refreshed from a registry snapshot
// after every poll round:
//
//   pdserve:router_worker_healthy{role,worker}            1 healthy, 0 not (or dropped)
//   pdserve:router_worker_requests_inflight{role,worker}  requests sent, not yet ended
//   pdserve:router_workers{role,state="healthy|unhealthy"} workers known
//
//   WorkerHealthMetrics health(registry);
//   health.update(worker_registry.snapshot());
//
// A worker that leaves the registry keeps its series, at 0 (a series cannot
// be removed from the registry). Thread-safety: update() from one thread.
#pragma once

#include <map>
#include <string>

#include "common/server/metrics.h"
#include "router/worker_registry.h"

namespace pdserve::router {

class WorkerHealthMetrics {
 public:
  explicit WorkerHealthMetrics(server::MetricsRegistry& registry);

  void update(const WorkerSnapshot& snapshot);

 private:
  struct Series {
    server::Gauge healthy, inflight;
  };
  Series& series_for(const WorkerView& w);

  server::MetricsRegistry& registry_;
  std::map<std::string, Series> workers_;  // by worker id, every one ever seen
  server::Gauge decode_healthy_, decode_unhealthy_, prefill_healthy_, prefill_unhealthy_;
};

}  // namespace pdserve::router
