// What the tcp connection classes need from their agent (internal to the
// tcp backend; Asio stays in the tcp files).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "kvtransfer/inbound_policy.h"
#include "kvtransfer/region_table.h"
#include "kvtransfer/transfer_table.h"

namespace pdserve::kvtransfer::tcp {

// Pins taken by inbound writes carry this transfer id, so deregistration never
// mistakes them for local transfers.
inline constexpr uint64_t kInboundPin = ~0ull;

// Epochs of DATA frames being read into regions right now; fence_epoch waits
// them out so that no byte of a fenced epoch lands after it returns.
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

struct AgentState {
  std::string name;
  std::string compat_key;
  std::string cluster_token;
  RegionTable* regions = nullptr;
  TransferTable* transfers = nullptr;
  InboundPolicy* inbound = nullptr;
  std::atomic<uint64_t>* bytes_sent = nullptr;
  std::atomic<uint64_t>* bytes_received = nullptr;
  InflightEpochs* inflight = nullptr;
};

}  // namespace pdserve::kvtransfer::tcp
