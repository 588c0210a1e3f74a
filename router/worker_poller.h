// Keeps the router's view of its workers fresh: every poll_interval it asks
// each known worker for GET /internal/v1/state?since=<cursor> (load, block
// size, prefix-cache events after the cursor), feeds the registry and the
// prefix index, and drops registered workers whose heartbeats stopped; then
// hands the registry's snapshot to `after_poll` (the health metrics).
// A worker that accepts the poll's connection but does not answer within
// `stall_deadline` (stopped, deadlocked) is marked down at once
// (WorkerRegistry::mark_stalled), not after max_failed_polls rounds; one
// that refuses it or answers badly counts one failed poll.
// alive() is the router's liveness: the polling loop turns (each worker's
// poll ends within its client timeouts, so a longer silence means stuck).
// Runs on its own thread; stops (and joins) in the destructor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/base/status.h"
#include "common/server/health.h"
#include "common/server/http_client.h"
#include "router/prefix_index.h"
#include "router/worker_registry.h"

namespace pdserve::router {

class WorkerPoller {
 public:
  using AfterPoll = std::function<void(const WorkerSnapshot& snapshot)>;

  WorkerPoller(WorkerRegistry& registry, PrefixIndex& index, std::string cluster_token,
               std::chrono::milliseconds interval, std::chrono::milliseconds stall_deadline,
               AfterPoll after_poll = nullptr);
  ~WorkerPoller();
  WorkerPoller(const WorkerPoller&) = delete;
  WorkerPoller& operator=(const WorkerPoller&) = delete;

  // Polls every worker once, now (also what the thread does each interval).
  void poll_once();

  // kUnavailable when no poll ended for longer than one poll can take.
  Status alive() const;

 private:
  void run();

  WorkerRegistry& registry_;
  PrefixIndex& index_;
  const std::string token_;
  const std::chrono::milliseconds interval_;
  AfterPoll after_poll_;
  const std::chrono::milliseconds max_silence_;
  server::HttpClient client_;
  server::Heartbeat beat_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last
};

}  // namespace pdserve::router
