#include "router/retry_timer.h"

#include <utility>

namespace pdserve::router {

RetryTimer::RetryTimer() : thread_([this] { run(); }) {}

RetryTimer::~RetryTimer() {
  stop();
}

void RetryTimer::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  due_.emplace(Clock::now() + delay, std::move(fn));
  changed_.notify_all();
}

void RetryTimer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    due_.clear();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RetryTimer::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (due_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const Clock::time_point next = due_.begin()->first;
    if (Clock::now() < next) {
      changed_.wait_until(lock, next);
      continue;
    }
    std::function<void()> fn = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    lock.unlock();
    fn();
    fn = nullptr;  // what it holds goes outside the lock too
    lock.lock();
  }
}

}  // namespace pdserve::router
