#include "kvtransfer/transfer_table.h"

namespace pdserve::kvtransfer {

uint64_t TransferTable::create(uint64_t peer_id) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  entries_[id].peer_id = peer_id;
  return id;
}

bool TransferTable::complete(uint64_t id, const Status& status) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.state != TransferState::kPending) return false;
  Entry& e = it->second;
  e.status = status;
  if (status.ok()) {
    e.state = TransferState::kDone;
  } else if (status.code() == StatusCode::kCancelled) {
    e.state = TransferState::kCancelled;
  } else {
    e.state = TransferState::kFailed;
  }
  finished_.push_back(id);
  while (finished_.size() > kMaxFinished) {
    entries_.erase(finished_.front());
    finished_.pop_front();
  }
  changed_.notify_all();
  return true;
}

Result<TransferState> TransferTable::state(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return not_found("transfer " + std::to_string(id) + " is unknown");
  return it->second.state;
}

Status TransferTable::wait(uint64_t id, std::chrono::milliseconds deadline) const {
  std::unique_lock lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return not_found("transfer " + std::to_string(id) + " is unknown");
  bool finished = changed_.wait_for(lock, deadline, [&] {
    auto found = entries_.find(id);
    return found == entries_.end() || found->second.state != TransferState::kPending;
  });
  if (!finished) {
    return deadline_exceeded("transfer " + std::to_string(id) + " still pending after " +
                             std::to_string(deadline.count()) + " ms");
  }
  it = entries_.find(id);
  if (it == entries_.end()) return not_found("transfer " + std::to_string(id) + " was evicted");
  return it->second.status;
}

Result<bool> TransferTable::request_cancel(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return not_found("transfer " + std::to_string(id) + " is unknown");
  if (it->second.state != TransferState::kPending) return false;
  it->second.cancel_requested = true;
  return true;
}

bool TransferTable::cancel_requested(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.cancel_requested;
}

}  // namespace pdserve::kvtransfer
