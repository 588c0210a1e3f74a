// When the supervisor starts a child that died again: `initial` after its
// first death, doubling with each death after that up to `max`; a child that
// stayed up for `stable_after` before it died starts over at `initial`.
//
//   RestartBackoff b(options);
//   auto delay = b.on_exit(ran_for);   // 0.5 s, 1 s, 2 s, ... 10 s
//
// Pure arithmetic; not thread-safe (the supervisor's thread owns it).
#pragma once

#include <chrono>

namespace pdserve::launcher {

struct RestartOptions {
  bool enabled = false;  // off: a child's death stops every child (Supervisor::wait)
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{10'000};
  std::chrono::milliseconds stable_after{30'000};
  // The supervisor gives up (stops everything) once every child of one role
  // has been down for this long.
  std::chrono::milliseconds role_down_limit{60'000};
};

class RestartBackoff {
 public:
  explicit RestartBackoff(const RestartOptions& options)
      : options_(options), next_(options.initial) {}

  // A death after the child ran for `ran_for`: the delay before its restart.
  std::chrono::milliseconds on_exit(std::chrono::steady_clock::duration ran_for);

 private:
  RestartOptions options_;
  std::chrono::milliseconds next_;
};

}  // namespace pdserve::launcher
