// The router's GET /health, from its view of the workers (WorkerRegistry):
//
//   200 {"status":"ok"}                      every known worker is healthy
//   200 {"status":"degraded","reason":...}   a worker is down (dead, restarting,
//                                            stalled) but a decode worker serves
//   503 {"status":"unhealthy","reason":...}  no healthy decode worker
//
// The reason counts workers per role; it never names their addresses (the
// endpoint needs no key). Pure function of the snapshot.
#pragma once

#include <string>

#include "router/worker_registry.h"

namespace pdserve::router {

struct ClusterHealth {
  int http_status = 200;
  std::string body;  // JSON
};

ClusterHealth cluster_health(const WorkerSnapshot& snapshot);

}  // namespace pdserve::router
