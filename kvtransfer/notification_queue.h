// NotificationQueue: the receiver's queue of delivered notifications and its
// set of fenced epochs. A notification carrying a fenced epoch is refused by
// push(); fence() also drops queued ones. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {

class NotificationQueue {
 public:
  static constexpr size_t kMaxFenced = 1 << 20;  // oldest fences forgotten past this

  // false (dropped) when the epoch is fenced.
  bool push(Notification n);
  bool is_fenced(uint64_t epoch) const;
  void fence(uint64_t epoch);
  std::vector<Notification> take_all();
  Result<Notification> wait(std::chrono::milliseconds deadline);

 private:
  mutable std::mutex mu_;
  std::condition_variable arrived_;
  std::deque<Notification> queue_;
  std::unordered_set<uint64_t> fenced_;
  std::deque<uint64_t> fence_order_;
};

}  // namespace pdserve::kvtransfer
