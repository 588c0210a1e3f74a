// The decode worker's side of a KV transfer: the prefill worker's write ends
// with a notification carrying the request's epoch, delivered by kvtransfer
// only after all the data landed. KvArrivals takes the agent's notifications
// on a thread of its own and tells whoever expects an epoch.
//
//   Status landed = co_await arrivals.arrival(epoch, 5s);  // ok: the KV is there; else timed out
//
// A notification may come before expect() is called (the prefill worker's
// HTTP answer is sent after it): it is kept for a while and matched then.
// Notifications with an empty payload are a layer of a layer-wise push, not
// the end, and are ignored. Expiry walks deadlines in order (a heap of
// waiters, arrivals in arrival order), so a flood of notifications costs
// O(log n) each, never a scan of everything stored.
// Thread-safety: every method may be called from any thread; the awaiting
// coroutine resumes on the arrivals thread (or goes on at once, on its own,
// when the notification was there already) and must not block it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/base/callback_awaitable.h"
#include "common/base/status.h"
#include "kvtransfer/agent.h"

namespace pdserve::decode {

class KvArrivals {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void(Status)>;

  explicit KvArrivals(kvtransfer::Agent& agent);
  ~KvArrivals();  // pending callbacks get kCancelled
  KvArrivals(const KvArrivals&) = delete;
  KvArrivals& operator=(const KvArrivals&) = delete;

  // Waits for the epoch's notification: ok when it arrived (maybe already),
  // kDeadlineExceeded after `timeout` without it, kCancelled when the
  // decode worker stops first.
  CallbackAwaitable<Status> arrival(uint64_t epoch, std::chrono::milliseconds timeout);
  // Drops the epoch for good: its notification, now or later, is ignored
  // (and fenced in the agent, so late data is dropped where the backend can).
  void forget(uint64_t epoch);

 private:
  struct Waiter {
    Clock::time_point deadline;
    Callback cb;
  };
  using Due = std::pair<Clock::time_point, uint64_t>;  // (deadline or arrival, epoch)
  // Calls cb once, as arrival() resumes.
  void expect(uint64_t epoch, std::chrono::milliseconds timeout, Callback cb);
  void run();
  void expire(Clock::time_point now);

  kvtransfer::Agent& agent_;
  std::mutex mu_;
  std::unordered_map<uint64_t, Waiter> waiters_;
  // Waiter deadlines, earliest on top; an entry whose waiter is gone or has
  // another deadline is skipped when it surfaces.
  std::priority_queue<Due, std::vector<Due>, std::greater<>> waiter_deadlines_;
  std::unordered_map<uint64_t, Clock::time_point> arrived_;  // epoch -> when, not yet expected
  std::deque<Due> arrival_order_;                            // arrived_ by time, same skipping
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pdserve::decode
