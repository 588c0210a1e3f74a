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
  for (auto& [epoch, w] : waiters_) w.cb(cancelled("decode worker stopping"));
}

void KvArrivals::expect(uint64_t epoch, std::chrono::milliseconds timeout, Callback cb) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = arrived_.find(epoch);
    if (it == arrived_.end()) {
      waiters_[epoch] = Waiter{Clock::now() + timeout, std::move(cb)};
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
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        late.push_back(std::move(it->second.cb));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = arrived_.begin(); it != arrived_.end();) {
      it = it->second + kKeepArrival <= now ? arrived_.erase(it) : std::next(it);
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
    if (n.ok() && n->epoch != 0) {  // epoch 0: a layer of a layer-wise push, not the end
      Callback cb;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = waiters_.find(n->epoch);
        if (it == waiters_.end()) {
          arrived_[n->epoch] = Clock::now();
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
