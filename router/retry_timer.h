// Runs callbacks after a delay, on one thread of its own: the router's
// choice streams that wait for a decode worker to come back (a restart)
// before they try again.
//
//   RetryTimer timer;
//   timer.after(std::chrono::milliseconds(250), [stream] { stream->send(); });
//   timer.stop();   // pending callbacks are dropped, the thread joined
//
// Thread-safety: after() and stop() from any thread (not from a callback for
// stop()); callbacks run on the timer's thread, one at a time, without any
// lock of this class held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace pdserve::router {

class RetryTimer {
 public:
  using Clock = std::chrono::steady_clock;

  RetryTimer();
  ~RetryTimer();  // stop()
  RetryTimer(const RetryTimer&) = delete;
  RetryTimer& operator=(const RetryTimer&) = delete;

  // Dropped (never run) once stop() began.
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  void stop();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ = false;
  std::multimap<Clock::time_point, std::function<void()>> due_;
  std::thread thread_;  // last: uses the rest
};

}  // namespace pdserve::router
