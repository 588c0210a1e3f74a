// Keep-alive for long-lived SSE streams between processes: every `interval`
// one comment line (": ping") goes to each stream still open, so the reader
// can tell a quiet stream (a long prefill, a queue) from a stalled or dead
// writer by a short silence deadline (DESIGN.md: liveness).
//
//   SseHeartbeat beat(std::chrono::seconds(1));   // owns one thread
//   beat.add(sse);                                // weak: a closed stream drops out
//
// A comment that cannot be queued (the buffer is full: the reader is slow)
// is skipped, not an error: the stream is evidently not silent.
// Thread-safety: add() from any thread; the destructor joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/server/response_writer.h"

namespace pdserve::server {

class SseHeartbeat {
 public:
  explicit SseHeartbeat(std::chrono::milliseconds interval);
  ~SseHeartbeat();
  SseHeartbeat(const SseHeartbeat&) = delete;
  SseHeartbeat& operator=(const SseHeartbeat&) = delete;

  void add(const std::shared_ptr<SseWriter>& stream);
  size_t size() const;  // streams still watched

 private:
  void run();

  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::vector<std::weak_ptr<SseWriter>> streams_;
  std::thread thread_;  // last: uses the rest
};

}  // namespace pdserve::server
