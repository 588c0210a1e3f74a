#include "worker/kv_event_log.h"

namespace pdserve::worker {

void KvEventLog::append(const std::vector<kv::KvEvent>& events) {
  if (events.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (const kv::KvEvent& e : events) {
    const bool stored = e.kind == kv::KvEvent::Kind::kStored;
    if (stored) {
      cached_.insert(e.block_hash);
    } else {
      cached_.erase(e.block_hash);
    }
    events_.push_back({stored, e.block_hash});
    if (events_.size() > capacity_) {
      events_.pop_front();
      ++first_;
    }
  }
}

KvEventLog::Slice KvEventLog::since(uint64_t cursor) const {
  std::lock_guard<std::mutex> lock(mu_);
  Slice s;
  const uint64_t end = first_ + events_.size();
  s.cursor = end;
  // Behind the oldest kept event, or a cursor from an earlier life of this
  // worker: the poller rebuilds from the cached set.
  if (cursor < first_ || cursor > end) {
    s.truncated = true;
    s.cached.assign(cached_.begin(), cached_.end());
    return s;
  }
  for (uint64_t i = cursor; i < end; ++i) s.events.push_back(events_[i - first_]);
  return s;
}

}  // namespace pdserve::worker
