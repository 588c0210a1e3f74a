#include "launcher/restart_backoff.h"

#include <algorithm>

namespace pdserve::launcher {

std::chrono::milliseconds RestartBackoff::on_exit(std::chrono::steady_clock::duration ran_for) {
  if (ran_for >= options_.stable_after) next_ = options_.initial;
  const std::chrono::milliseconds delay = std::min(next_, options_.max);
  next_ = std::min(next_ * 2, options_.max);
  return delay;
}

}  // namespace pdserve::launcher
