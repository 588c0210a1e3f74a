// GET /debug/requests/{id}: one request's timeline across the cluster. The
// router's own milestones joined with those every known worker keeps for
// the id (GET /internal/v1/requests/{id} with the cluster token, asked all
// at once, each under a short deadline), ordered by time:
//
//   {"request_id":"abc","milestones":[{"process":"router","event":"received",
//    "time_us":...}, ...],"unreachable":["10.0.0.5:8002"]}
//
// 404 (OpenAI error) when no process knows the id; 400 for an id that no
// request could have (request_id.h's characters and length). Handlers
// answer from the client's io thread; nothing blocks.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/base/request_timeline.h"
#include "common/server/http_client.h"
#include "common/server/response_writer.h"
#include "router/worker_registry.h"

namespace pdserve::router {

inline constexpr const char* kDebugRequestsPath = "/debug/requests/";

class TimelineView {
 public:
  TimelineView(const RequestTimeline& own, const WorkerRegistry& registry,
               server::HttpClient& client, std::string cluster_token,
               std::chrono::milliseconds worker_deadline = std::chrono::milliseconds(1'000));

  void handle(const server::Request& request, std::shared_ptr<server::ResponseWriter> writer);

 private:
  const RequestTimeline& own_;
  const WorkerRegistry& registry_;
  server::HttpClient& client_;
  const std::string token_;
  const std::chrono::milliseconds deadline_;
};

}  // namespace pdserve::router
