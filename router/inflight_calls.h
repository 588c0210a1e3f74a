// The requests a router is answering, so that a drain (SIGTERM) can stop
// admitting new ones, wait for the running ones, and end those still
// running at the deadline with an error event: no stream is cut silently.
//
//   auto id = calls.add([weak] { end it with an error event and [DONE] });
//   if (!id) answer 503;                    // draining: not admitted
//   ... when the request was answered:  calls.remove(*id);
//   on SIGTERM: calls.drain(now + grace);   // then stop the HTTP server
//
//   open ──drain()──▶ draining: add() refused ──all removed or deadline──▶
//        end_with_error() for each left, then up to kEndWait for them to go
//
// Thread-safety: every method may be called from any thread; the callbacks
// run on drain()'s thread without any lock of this class held, and may call
// remove().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

namespace pdserve::router {

class InflightCalls {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kEndWait{2};

  // nullopt once drain() began.
  std::optional<uint64_t> add(std::function<void()> end_with_error);
  void remove(uint64_t id);
  bool draining() const;
  size_t size() const;

  // Refuses new calls, waits until none is left or `deadline`, then ends the
  // rest (their end_with_error) and waits up to kEndWait for them to be
  // removed. Returns how many had to be ended.
  size_t drain(Clock::time_point deadline);

 private:
  mutable std::mutex mu_;
  std::condition_variable empty_;
  bool draining_ = false;
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::function<void()>> calls_;
};

}  // namespace pdserve::router
