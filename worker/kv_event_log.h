// The prefix-cache events of one worker, kept for the router's pollers:
// every block hash stored or evicted, numbered by a cursor. A poller asks for
// the events after its cursor; when it fell so far behind that some were
// dropped, it gets the whole set of cached hashes instead and rebuilds.
//
//   log.append(engine.take_kv_events());                  // engine loop
//   KvEventLog::Slice s = log.since(cursor);              // GET /internal/v1/state?since=cursor
//
// Memory is bounded: at most `capacity` events, plus the set of hashes
// cached now (bounded by the number of KV blocks).
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "common/wire/internal_api.h"
#include "engine/kv/block_pool.h"

namespace pdserve::worker {

class KvEventLog {
 public:
  explicit KvEventLog(size_t capacity = 65536) : capacity_(capacity) {}

  void append(const std::vector<kv::KvEvent>& events);

  struct Slice {
    uint64_t cursor = 0;  // pass as `since` next time
    std::vector<server::internal::KvCacheEvent> events;
    bool truncated = false;        // events after `since` were dropped:
    std::vector<uint64_t> cached;  // then every hash cached now
  };
  Slice since(uint64_t cursor) const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<server::internal::KvCacheEvent> events_;  // numbered first_ .. first_ + size - 1
  uint64_t first_ = 0;
  std::unordered_set<uint64_t> cached_;
};

}  // namespace pdserve::worker
