#include "router/inflight_calls.h"

#include <utility>
#include <vector>

namespace pdserve::router {

std::optional<uint64_t> InflightCalls::add(std::function<void()> end_with_error) {
  std::lock_guard lock(mu_);
  if (draining_) return std::nullopt;
  const uint64_t id = ++next_id_;
  calls_.emplace(id, std::move(end_with_error));
  return id;
}

void InflightCalls::remove(uint64_t id) {
  std::lock_guard lock(mu_);
  calls_.erase(id);
  if (calls_.empty()) empty_.notify_all();
}

bool InflightCalls::draining() const {
  std::lock_guard lock(mu_);
  return draining_;
}

size_t InflightCalls::size() const {
  std::lock_guard lock(mu_);
  return calls_.size();
}

size_t InflightCalls::drain(Clock::time_point deadline) {
  std::vector<std::function<void()>> left;
  {
    std::unique_lock lock(mu_);
    draining_ = true;
    if (empty_.wait_until(lock, deadline, [&] { return calls_.empty(); })) return 0;
    for (auto& [id, end] : calls_) left.push_back(end);
  }
  for (auto& end : left) end();
  std::unique_lock lock(mu_);
  empty_.wait_for(lock, kEndWait, [&] { return calls_.empty(); });
  return left.size();
}

}  // namespace pdserve::router
