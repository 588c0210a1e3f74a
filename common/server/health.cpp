#include "common/server/health.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace pdserve::server {

Heartbeat::Clock::duration Heartbeat::since_last_beat(Clock::time_point now) const {
  return std::chrono::nanoseconds(now_ns(now) - last_beat_ns_.load(std::memory_order_relaxed));
}

Status Heartbeat::check(std::chrono::milliseconds max_silence, Clock::time_point now) const {
  size_t pending = num_pending_.load(std::memory_order_relaxed);
  auto silence = since_last_beat(now);
  if (pending == 0 || silence <= max_silence) return ok_status();
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.1f", std::chrono::duration<double>(silence).count());
  return unavailable("engine loop stalled: no step for " + std::string(seconds) + " s with " +
                     std::to_string(pending) + " request(s) pending");
}

std::function<Status()> Heartbeat::probe(std::chrono::milliseconds max_silence) const {
  return [this, max_silence] { return check(max_silence); };
}

void mount_health(Routes& routes, std::function<Status()> probe, std::string path) {
  routes.add("GET", std::move(path),
             [probe = std::move(probe)](const Request&) {
               Status status = internal_error("health probe threw");
               try {
                 status = probe();
               } catch (...) {
               }
               nlohmann::json body = {{"status", status.ok() ? "ok" : "unhealthy"}};
               if (!status.ok()) body["reason"] = status.message();
               return Response::json(
                   status.ok() ? 200 : 503,
                   body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
             },
             {.max_body_bytes = kControlBodyBytes});
}

}  // namespace pdserve::server
