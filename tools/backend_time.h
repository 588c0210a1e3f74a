// Wall time of work on a backend, for the micro-benchmarks under tools/.
#pragma once

#include <chrono>
#include <functional>

#include "engine/backend/backend.h"

namespace pdserve::backend {

// Milliseconds per call of fn over reps calls, after one warm-up call; the
// backend is synchronised before the clock starts and before it stops.
inline double time_ms(Backend& be, int reps, const std::function<void()>& fn) {
  fn();
  be.synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) fn();
  be.synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
         reps;
}

}  // namespace pdserve::backend
