// Internal to common/server: the state of one request's answer, shared by the
// connection (io thread) and the handler's writers (any thread).
//
//   waiting ──respond()──▶ response ready ──(written)──▶ done
//      │
//      └──start_stream()──▶ streaming ──finish()──▶ finishing ──(last chunk)──▶ done
//   any state ──client gone / connection failed / server cut it──▶ closed
//
// The connection installs a wake function; every producer call that gives the
// connection something to do calls it (under the lock; it must only post).
// Thread-safety: all methods lock one mutex; callbacks run outside it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/wire/http_message.h"

namespace pdserve::server {

class Exchange {
 public:
  explicit Exchange(size_t max_buffered_bytes) : max_buffered_bytes_(max_buffered_bytes) {}

  // ---- producer side (handler threads) ----
  bool respond(Response response);
  bool start_stream(int status, Headers headers);
  Status push(std::string bytes);  // stream bytes, already framed
  void finish();                   // ends the stream after queued bytes
  void abandon();                  // the writer was dropped: 500 when nothing was answered
  bool is_closed() const;
  void on_disconnect(std::function<void()> cb);
  size_t buffered_bytes() const;
  bool wait_writable(std::chrono::milliseconds timeout);  // until at most half full

  // ---- connection side (one io strand) ----
  void set_wake(std::function<void()> wake);
  // What the connection has to do next, taken under the lock.
  struct Work {
    std::optional<Response> response;     // a full response to write
    std::optional<Response> stream_head;  // status + headers of a stream
    std::string bytes;                    // stream bytes to write as one chunk
    bool stream_done = false;             // write the last chunk after `bytes`
    bool closed = false;                  // give up: client gone / server cut
  };
  Work take();
  void mark_written(size_t num_bytes);  // bytes of a taken chunk reached the socket
  void mark_done();                     // answer fully written (normal end)
  // The client went away or the connection failed/was cut: fires disconnect
  // callbacks unless the answer was done, and drops the wake function.
  void mark_closed();

 private:
  enum class State { kWaiting, kResponse, kStreaming, kFinishing, kDone, kClosed };
  void wake_locked();

  const size_t max_buffered_bytes_;
  mutable std::mutex mu_;
  std::condition_variable writable_cv_;
  State state_ = State::kWaiting;
  bool head_taken_ = false;
  std::optional<Response> response_;
  std::deque<std::string> chunks_;
  size_t buffered_bytes_ = 0;  // queued + taken but not yet written
  std::function<void()> wake_;
  std::vector<std::function<void()>> on_disconnect_;
};

}  // namespace pdserve::server
