#include "kvtransfer/notification_queue.h"

#include <algorithm>

namespace pdserve::kvtransfer {

bool NotificationQueue::push(Notification n) {
  std::lock_guard lock(mu_);
  if (fenced_.count(n.epoch) != 0) return false;
  queue_.push_back(std::move(n));
  arrived_.notify_all();
  return true;
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
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const Notification& n) { return n.epoch == epoch; }),
               queue_.end());
}

std::vector<Notification> NotificationQueue::take_all() {
  std::lock_guard lock(mu_);
  std::vector<Notification> out(std::make_move_iterator(queue_.begin()),
                                std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

Result<Notification> NotificationQueue::wait(std::chrono::milliseconds deadline) {
  std::unique_lock lock(mu_);
  if (!arrived_.wait_for(lock, deadline, [&] { return !queue_.empty(); })) {
    return deadline_exceeded("no notification within " + std::to_string(deadline.count()) + " ms");
  }
  Notification n = std::move(queue_.front());
  queue_.pop_front();
  return n;
}

}  // namespace pdserve::kvtransfer
