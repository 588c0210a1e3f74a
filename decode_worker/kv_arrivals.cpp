#include "decode_worker/kv_arrivals.h"

#include <vector>

namespace pdserve::decode {
namespace {
// An arrival nobody expected yet is kept this long.
constexpr std::chrono::seconds kKeepArrival{60};
}  // namespace

KvArrivals::KvArrivals(kvtransfer::Agent& agent) : agent_(agent), thread_([this] { run(); }) {}

KvArrivals::~KvArrivals() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  thread_.join();
  // Out of the map first: a resumed waiter calls forget().
  std::unordered_map<uint64_t, Waiter> waiters;
  waiters.swap(waiters_);
  for (auto& [epoch, w] : waiters) w.cb(cancelled("decode worker stopping"));
}

CallbackAwaitable<Status> KvArrivals::arrival(uint64_t epoch, std::chrono::milliseconds timeout) {
  return CallbackAwaitable<Status>(
      [this, epoch, timeout](Callback done) { expect(epoch, timeout, std::move(done)); });
}

void KvArrivals::expect(uint64_t epoch, std::chrono::milliseconds timeout, Callback cb) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = arrived_.find(epoch);
    if (it == arrived_.end()) {
      const Clock::time_point deadline = Clock::now() + timeout;
      waiters_[epoch] = Waiter{deadline, std::move(cb)};
      waiter_deadlines_.emplace(deadline, epoch);
      return;
    }
    arrived_.erase(it);
  }
  cb(ok_status());
}

void KvArrivals::forget(uint64_t epoch) {
  agent_.fence_epoch(epoch);
  std::lock_guard<std::mutex> lock(mu_);
  arrived_.erase(epoch);
  waiters_.erase(epoch);
}

void KvArrivals::expire(Clock::time_point now) {
  std::vector<Callback> late;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!waiter_deadlines_.empty() && waiter_deadlines_.top().first <= now) {
      const auto [deadline, epoch] = waiter_deadlines_.top();
      waiter_deadlines_.pop();
      auto it = waiters_.find(epoch);
      if (it == waiters_.end() || it->second.deadline != deadline) continue;  // stale entry
      late.push_back(std::move(it->second.cb));
      waiters_.erase(it);
    }
    while (!arrival_order_.empty() && arrival_order_.front().first + kKeepArrival <= now) {
      const auto [when, epoch] = arrival_order_.front();
      arrival_order_.pop_front();
      auto it = arrived_.find(epoch);
      if (it != arrived_.end() && it->second == when) arrived_.erase(it);
    }
  }
  for (Callback& cb : late)
    cb(deadline_exceeded("KV transfer notification did not arrive in time"));
}

void KvArrivals::run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    Result<kvtransfer::Notification> n = agent_.wait_notification(std::chrono::milliseconds(50));
    if (n.ok() && !n->payload.empty()) {  // empty: a layer of a layer-wise push, not the end
      Callback cb;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = waiters_.find(n->epoch);
        if (it == waiters_.end()) {
          const Clock::time_point now = Clock::now();
          if (arrived_.emplace(n->epoch, now).second) arrival_order_.emplace_back(now, n->epoch);
        } else {
          cb = std::move(it->second.cb);
          waiters_.erase(it);
        }
      }
      if (cb) cb(ok_status());
    }
    expire(Clock::now());
  }
}

}  // namespace pdserve::decode
