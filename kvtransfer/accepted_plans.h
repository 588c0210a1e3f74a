// AcceptedPlans: the receiver's side of the ucx put protocol without UCX.
// A put transfer's op list (its plan) is checked before any put and, once
// accepted, kept here with the pins of its ranges until the transfer's
// notification, which must match it:
//
//   accept(key, epoch, bytes, pins) ──▶ take(key, epoch, bytes, 0) == ok
//                                   ├─▶ drop(key)      (ABORT: no notification follows)
//                                   └─▶ expire(now)    (nothing within `ttl`: the sender is gone)
//
// A notification of a put transfer (its bytes came by no checked message)
// without an accepted plan, or not matching it, is refused. Keys are
// (session id, transfer id). Bounded: at most `max_plans`. Not thread-safe
// (the agent's progress thread owns it).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/region_table.h"

namespace pdserve::kvtransfer {

class AcceptedPlans {
 public:
  using Key = std::pair<uint64_t, uint64_t>;  // (session id, transfer id)
  using Clock = std::chrono::steady_clock;

  AcceptedPlans(size_t max_plans, Clock::duration ttl) : max_plans_(max_plans), ttl_(ttl) {}

  // kUnavailable when max_plans are held already (a new key).
  Status accept(Key key, uint64_t epoch, uint64_t bytes, std::vector<RegionPin> pins,
                Clock::time_point now);
  // At a notification of `bytes` whose data came as `num_checked` checked
  // messages (am protocol) or none (put): ok for an am transfer or a put
  // transfer matching its plan (which ends); kPermissionDenied otherwise.
  Status take(Key key, uint64_t epoch, uint64_t bytes, uint64_t num_checked);
  void drop(Key key) { plans_.erase(key); }
  // Drops the plans older than ttl (checks at most once a second).
  void expire(Clock::time_point now);
  void clear() { plans_.clear(); }
  size_t size() const { return plans_.size(); }

 private:
  struct Plan {
    uint64_t epoch = 0;
    uint64_t bytes = 0;
    std::vector<RegionPin> pins;
    Clock::time_point accepted_at;
  };
  const size_t max_plans_;
  const Clock::duration ttl_;
  std::map<Key, Plan> plans_;
  Clock::time_point next_sweep_{};
};

}  // namespace pdserve::kvtransfer
