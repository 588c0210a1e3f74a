// Liveness that means "the engine is making progress", not "the process is up".
//
//   Heartbeat beat;                                  // owned by the worker
//   engine loop:  beat.set_pending(num_waiting + num_running);  ...step...;  beat.beat();
//   mount_health(routes, beat.probe(std::chrono::seconds(30)));
//
// GET /health answers 200 {"status":"ok"} while the probe returns ok, and
// 503 {"status":"unhealthy","reason":"..."} when it does not: for a
// Heartbeat, when work is pending and the last beat is older than the
// threshold (a stuck engine loop). An idle engine that does not beat is healthy.
// Thread-safety: Heartbeat is lock-free; beat() and set_pending() may be
// called from any thread, check() from any other.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "common/base/status.h"
#include "common/server/routes.h"

namespace pdserve::server {

class Heartbeat {
 public:
  using Clock = std::chrono::steady_clock;

  Heartbeat() : last_beat_ns_(now_ns(Clock::now())) {}

  void beat(Clock::time_point now = Clock::now()) {
    last_beat_ns_.store(now_ns(now), std::memory_order_relaxed);
  }
  // Requests waiting or running: only when this is > 0 can the loop be stuck.
  void set_pending(size_t num_pending) {
    num_pending_.store(num_pending, std::memory_order_relaxed);
  }
  size_t pending() const { return num_pending_.load(std::memory_order_relaxed); }
  Clock::duration since_last_beat(Clock::time_point now = Clock::now()) const;

  // kUnavailable naming the silence and the pending count when work is
  // pending and no beat came for longer than max_silence; ok otherwise.
  Status check(std::chrono::milliseconds max_silence, Clock::time_point now = Clock::now()) const;
  // A probe for mount_health; this Heartbeat must outlive it.
  std::function<Status()> probe(std::chrono::milliseconds max_silence) const;

 private:
  static int64_t now_ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }
  std::atomic<int64_t> last_beat_ns_;
  std::atomic<size_t> num_pending_{0};
};

// Serves GET `path` from probe(): 200 when ok, 503 with the Status message as
// the reason otherwise. The probe runs on a server io thread: keep it cheap.
// A probe that throws counts as unhealthy.
void mount_health(Routes& routes, std::function<Status()> probe, std::string path = "/health");

}  // namespace pdserve::server
