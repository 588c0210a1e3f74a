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
// With ServerOptions::producer_sends it also installs a direct send, and opens
// it while it waits for a stream's next bytes with everything else written:
// a producer's push then sends its chunk itself (no wake-up) as far as the
// socket takes it at once; the rest is handed to the connection as a
// partly sent chunk. take() closes it again, so bytes never overtake each other.
// Thread-safety: all methods lock one mutex; callbacks run outside it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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
  // Stream bytes, already framed; copied only when they must wait (a direct
  // send that the socket took whole keeps nothing).
  Status push(std::string_view bytes);
  void finish();   // ends the stream after queued bytes
  void abandon();  // the writer was dropped: 500 when nothing was answered
  bool is_closed() const;
  void on_disconnect(std::function<void()> cb);
  size_t buffered_bytes() const;
  bool wait_writable(std::chrono::milliseconds timeout);  // until at most half full

  // ---- connection side (one io strand) ----
  void set_wake(std::function<void()> wake);
  // What the socket took of one chunk sent without blocking.
  struct Sent {
    size_t num_sent = 0;  // bytes of the framed chunk
    bool whole = false;   // all of it
    bool failed = false;  // the connection failed
  };
  // Frames `bytes` as one chunk of the body and sends what the socket takes
  // at once. Runs on a producer's thread, under the lock.
  using DirectSend = std::function<Sent(std::string_view bytes)>;
  void set_direct_send(DirectSend send);
  // The connection waits for the stream's next bytes, all else written:
  // producers may send themselves (unless bytes are queued: a wake-up is due).
  void open_direct();
  // The connection is about to use or close the socket: no producer sends.
  void close_direct();
  // What the connection has to do next, taken under the lock.
  struct Work {
    std::optional<Response> response;     // a full response to write
    std::optional<Response> stream_head;  // status + headers of a stream
    std::string bytes;                    // stream bytes to write as one chunk
    size_t num_sent = 0;                  // of that chunk, on the socket already
    bool send_failed = false;             // sending it failed: the connection is gone
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
  DirectSend direct_;
  bool direct_open_ = false;
  // The front chunk was partly sent by a producer: what of it went.
  std::optional<Sent> partial_;
  std::vector<std::function<void()>> on_disconnect_;
};

}  // namespace pdserve::server
