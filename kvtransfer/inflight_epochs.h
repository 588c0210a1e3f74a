#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>

namespace pdserve::kvtransfer {

// Epochs whose writes are landing in regions right now (tcp: a DATA frame
// being read; cuda_ipc: ops granted, notification not yet in); fence_epoch
// waits them out so that no byte of a fenced epoch lands after it returns.
// Thread-safe.
class InflightEpochs {
 public:
  void add(uint64_t epoch) {
    std::lock_guard lock(mu_);
    epochs_.insert(epoch);
  }
  void remove(uint64_t epoch) {
    std::lock_guard lock(mu_);
    if (auto it = epochs_.find(epoch); it != epochs_.end()) epochs_.erase(it);
    cv_.notify_all();
  }
  // false when a read of the epoch was still in flight at the deadline.
  bool wait_out(uint64_t epoch, std::chrono::milliseconds deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return epochs_.count(epoch) == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::multiset<uint64_t> epochs_;
};

}  // namespace pdserve::kvtransfer
