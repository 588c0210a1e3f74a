// TransferTable: the state of every transfer one agent posted (see the state
// machine in agent.h). Backends create() an entry at post time and
// complete() it exactly once; later completions are ignored. Records of
// finished transfers are kept for the last kMaxFinished of them.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "common/base/status.h"
#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {

class TransferTable {
 public:
  static constexpr size_t kMaxFinished = 65536;

  uint64_t create(uint64_t peer_id);
  // ok → kDone, kCancelled → kCancelled, anything else → kFailed. Returns
  // false when the transfer was already finished (or is unknown).
  bool complete(uint64_t id, const Status& status);
  Result<TransferState> state(uint64_t id) const;
  // See Agent::wait.
  Status wait(uint64_t id, std::chrono::milliseconds deadline) const;
  // Marks a pending transfer as cancel-requested. kNotFound; false when it
  // had already finished.
  Result<bool> request_cancel(uint64_t id);
  bool cancel_requested(uint64_t id) const;

 private:
  struct Entry {
    uint64_t peer_id = 0;
    TransferState state = TransferState::kPending;
    Status status;
    bool cancel_requested = false;
  };

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::deque<uint64_t> finished_;
  uint64_t next_id_ = 1;
};

}  // namespace pdserve::kvtransfer
