#include "kvtransfer/notification_queue.h"

#include <string>

namespace pdserve::kvtransfer {

Status NotificationQueue::push(uint64_t conn_id, Notification n) {
  std::lock_guard lock(mu_);
  if (fenced_.count(n.epoch) != 0) {
    return aborted("epoch " + std::to_string(n.epoch) + " is fenced by the receiver");
  }
  size_t& queued = queued_per_conn_[conn_id];
  if (queued >= kMaxQueuedPerPeer) {
    return resource_exhausted("more than " + std::to_string(kMaxQueuedPerPeer) +
                              " notifications queued from one connection");
  }
  ++queued;
  queue_.push_back({conn_id, std::move(n)});
  arrived_.notify_all();
  return ok_status();
}

void NotificationQueue::taken(uint64_t conn_id) {
  auto it = queued_per_conn_.find(conn_id);
  if (it != queued_per_conn_.end() && --it->second == 0) queued_per_conn_.erase(it);
}

bool NotificationQueue::is_fenced(uint64_t epoch) const {
  std::lock_guard lock(mu_);
  return fenced_.count(epoch) != 0;
}

void NotificationQueue::fence(uint64_t epoch) {
  std::lock_guard lock(mu_);
  if (!fenced_.insert(epoch).second) return;
  fence_order_.push_back(epoch);
  while (fence_order_.size() > kMaxFenced) {
    fenced_.erase(fence_order_.front());
    fence_order_.pop_front();
  }
  for (const Entry& e : queue_) {
    if (e.note.epoch == epoch) taken(e.conn_id);
  }
  std::erase_if(queue_, [&](const Entry& e) { return e.note.epoch == epoch; });
}

std::vector<Notification> NotificationQueue::take_all() {
  std::lock_guard lock(mu_);
  std::vector<Notification> out;
  out.reserve(queue_.size());
  for (Entry& e : queue_) out.push_back(std::move(e.note));
  queue_.clear();
  queued_per_conn_.clear();
  return out;
}

Result<Notification> NotificationQueue::wait(std::chrono::milliseconds deadline) {
  std::unique_lock lock(mu_);
  if (!arrived_.wait_for(lock, deadline, [&] { return !queue_.empty(); })) {
    return deadline_exceeded("no notification within " + std::to_string(deadline.count()) + " ms");
  }
  Entry e = std::move(queue_.front());
  queue_.pop_front();
  taken(e.conn_id);
  return std::move(e.note);
}

}  // namespace pdserve::kvtransfer
