// The router's view of its workers: decode and prefill workers listed on the
// command line (static) or registered over the internal API (Registration,
// repeated as a heartbeat), with their load from WorkerState polls and the
// router's own count of requests in flight to each.
//
// Health:
//   static:     unhealthy ──first successful poll──▶ healthy
//               healthy ──max_failed_polls consecutive failures──▶ unhealthy
//               (a later successful poll brings it back; it is never dropped)
//   registered: healthy at registration; unhealthy after max_failed_polls
//               failures or once its heartbeat is older than heartbeat_timeout;
//               expire() drops it after heartbeat_timeout of silence.
//
// Workers are keyed by id "host:port". Time is passed in (tests use fake
// clocks). Thread-safe: the io threads read (snapshot), the poller and the
// registration handler write.
#pragma once

#include <chrono>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/wire/internal_api.h"

namespace pdserve::router {

enum class WorkerRole { kDecode, kPrefill };

std::string_view role_name(WorkerRole role);           // "decode" / "prefill"
Result<WorkerRole> parse_role(std::string_view name);  // kInvalidArgument otherwise

// "host:port" or "[v6addr]:port"; kInvalidArgument naming the problem.
Result<server::internal::WorkerAddress> parse_worker_address(std::string_view host_port);
std::string worker_id(const server::internal::WorkerAddress& a);  // "host:port"

struct WorkerView {
  std::string id;
  WorkerRole role = WorkerRole::kDecode;
  server::internal::WorkerAddress address;
  std::string model;  // "" until known
  bool is_static = false;
  bool healthy = false;
  server::internal::WorkerLoad load;  // from the last successful poll
  int block_size = 0;                 // 0 until the first successful poll
  int num_inflight = 0;               // requests the router sent and has not seen end
};

// Every known worker (healthy or not), sorted by id.
struct WorkerSnapshot {
  std::vector<WorkerView> workers;
};

struct WorkerRegistryOptions {
  std::chrono::milliseconds heartbeat_timeout{10'000};
  int max_failed_polls = 2;
};

class WorkerRegistry {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WorkerRegistry(WorkerRegistryOptions options = {});

  // A worker from the command line. kInvalidArgument (bad address),
  // kAlreadyExists (listed twice).
  Status add_static(WorkerRole role, std::string_view host_port, std::string model = {});

  // A registration or heartbeat. Returns true when the worker is new to the
  // registry (the caller then resets its PrefixIndex entry). kInvalidArgument
  // on a bad role or address; kFailedPrecondition when the id is known with
  // another role.
  Result<bool> heartbeat(const server::internal::Registration& r, Clock::time_point now);

  // A successful GET /internal/v1/state: load, block size, model; the worker
  // becomes healthy. A state whose role differs from the registry's counts as
  // a failed poll. Unknown ids are ignored.
  void record_poll(std::string_view id, const server::internal::WorkerState& state);
  void record_poll_failure(std::string_view id);
  // A stream to it stayed silent past the deadline (a stalled worker): it
  // is unhealthy until its next successful poll.
  void mark_stalled(std::string_view id);

  // Requests in flight to a worker (+1 when sent, -1 when its stream ended).
  void add_inflight(std::string_view id, int delta);

  // Drops registered workers silent for longer than heartbeat_timeout;
  // returns their ids (the caller removes them from the PrefixIndex).
  std::vector<std::string> expire(Clock::time_point now);

  // Everything, with `healthy` evaluated at `now`.
  WorkerSnapshot snapshot(Clock::time_point now = Clock::now()) const;

 private:
  struct Entry {
    WorkerView view;
    Clock::time_point last_heartbeat{};
    int failed_polls = 0;
    bool polled_ok = false;
  };
  bool healthy_at(const Entry& e, Clock::time_point now) const;

  const WorkerRegistryOptions options_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Entry, std::less<>> workers_;
};

}  // namespace pdserve::router
