// NotificationQueue: the receiver's queue of delivered notifications and its
// set of fenced epochs. A notification carrying a fenced epoch is refused by
// push(); fence() also drops queued ones. Each connection may have at most
// kMaxQueuedPerPeer notifications queued (a flood costs the receiver bounded
// memory, and the backend drops the connection). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {

class NotificationQueue {
 public:
  static constexpr size_t kMaxFenced = 1 << 20;  // oldest fences forgotten past this

  // kAborted (dropped) when the epoch is fenced; kResourceExhausted when
  // connection `conn_id` has kMaxQueuedPerPeer notifications queued already.
  Status push(uint64_t conn_id, Notification n);
  bool is_fenced(uint64_t epoch) const;
  void fence(uint64_t epoch);
  std::vector<Notification> take_all();
  Result<Notification> wait(std::chrono::milliseconds deadline);

 private:
  struct Entry {
    uint64_t conn_id;
    Notification note;
  };
  void taken(uint64_t conn_id);  // under mu_

  mutable std::mutex mu_;
  std::condition_variable arrived_;
  std::deque<Entry> queue_;
  std::unordered_map<uint64_t, size_t> queued_per_conn_;
  std::unordered_set<uint64_t> fenced_;
  std::deque<uint64_t> fence_order_;
};

}  // namespace pdserve::kvtransfer
