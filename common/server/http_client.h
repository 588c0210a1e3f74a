// HTTP/1.1 client for the internal plane (router → decode worker → prefill
// worker): a pool of kept-alive connections per host:port, a deadline on
// every connect, write and read, and an SSE mode that hands events over as
// they arrive. Boost.Beast behind a pimpl.
//
//   HttpClient client;                                   // one io thread
//   Result<ClientResponse> r = client.post_json("127.0.0.1", 8001, "/internal/prefill", body);
//   if (!r.ok()) ...  // kUnavailable: refused/reset; kDeadlineExceeded: too slow
//   Result<ClientResponse> r = co_await client.call(std::move(req));  // in a coroutine
//
//   ClientRequest req = ClientRequest::post_json("10.0.0.5", 8002, "/internal/generate", body);
//   std::shared_ptr<SseStream> s = client.stream_sse(std::move(req),
//       [&](const SseEvent& ev) { relay(ev.data); return true; },   // false: stop
//       [&](Status st) { finish(st); });
//   ...  s->cancel();  // client of ours went away: closes the connection
//
//   PendingCall call = client.send_async(std::move(req), on_answer);
//   ...  call.cancel();  // not wanted any more: closes the connection (on_answer: kCancelled)
//
// Errors are Status values, never exceptions: kUnavailable (refused, reset,
// closed early, name not resolved), kDeadlineExceeded (connect/write/read
// deadline), kCancelled (cancel()), kResourceExhausted (response over
// max_response_bytes), kDataLoss (malformed response). A response with any
// HTTP status is a success of send(); check ClientResponse::status.
//
// A request that fails on a reused pooled connection before any byte of the
// answer arrived (the server closed the idle connection) is retried once on
// a new connection.
//
// Thread-safety: every method may be called from any thread, except that the
// blocking calls (send, get, post_json, SseStream::wait) must not be called
// from a callback of this client (they return kFailedPrecondition). Callbacks
// run on the client's io threads: keep them short, or give the client more
// num_io_threads. Host names are resolved with getaddrinfo, whose time is
// not bounded by connect_timeout; IP literals skip it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/base/callback_awaitable.h"
#include "common/base/status.h"
#include "common/server/sse.h"
#include "common/wire/http_message.h"

namespace pdserve::server {

struct ClientOptions {
  int num_io_threads = 1;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds write_timeout{30'000};
  // To the response headers, and between any two reads of the body (for a
  // stream: the longest silence allowed between bytes).
  std::chrono::milliseconds read_timeout{60'000};
  size_t max_idle_per_host = 8;                     // pooled connections kept per host:port
  std::chrono::milliseconds max_idle_time{30'000};  // pooled longer than this: closed
  size_t max_response_bytes = size_t{64} << 20;     // a full (non-stream) response body
  size_t max_sse_event_bytes = size_t{16} << 20;
};

struct ClientRequest {
  std::string method = "GET";
  std::string host;  // IP literal or name
  uint16_t port = 0;
  std::string target = "/";
  Headers headers;
  std::string body;
  std::string content_type;                               // sent when not empty
  std::optional<std::chrono::milliseconds> read_timeout;  // overrides ClientOptions

  static ClientRequest get(std::string host, uint16_t port, std::string target);
  static ClientRequest post_json(std::string host, uint16_t port, std::string target,
                                 std::string body);
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

// A running SSE request. Thread-safe.
class SseStream {
 public:
  class State;
  explicit SseStream(std::shared_ptr<State> state);
  ~SseStream();  // does not cancel: the stream runs on until it ends

  // Stops the stream and closes its connection; on_done gets kCancelled
  // unless the stream had already ended. Idempotent.
  void cancel();
  bool done() const;
  // Blocks until the stream ended; its final Status (as given to on_done).
  Status wait();
  // The HTTP status of the answer, 0 until its headers arrived. When it is
  // not 2xx the stream ends with an error Status (code from the HTTP status)
  // and error_body() holds the body (e.g. an OpenAI error) once done().
  int http_status() const;
  std::string error_body() const;

 private:
  std::shared_ptr<State> state_;
};

// A plain request sent with send_async. cancel() closes its connection, so
// the server sees its client go away; the request's callback gets kCancelled
// unless the answer came first (then cancel() does nothing). Copyable,
// thread-safe, idempotent; harmless after the client was destroyed.
class PendingCall {
 public:
  PendingCall() = default;
  explicit PendingCall(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  void cancel() const {
    if (cancel_) cancel_();
  }

 private:
  std::function<void()> cancel_;
};

class HttpClient {
 public:
  // Returns false to stop the stream (as cancel()).
  using EventCallback = std::function<bool(const SseEvent&)>;
  using DoneCallback = std::function<void(Status)>;
  using ResponseCallback = std::function<void(Result<ClientResponse>)>;

  explicit HttpClient(ClientOptions options = {});
  // Cancels what is in flight (callbacks get kCancelled) and joins the io threads.
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Calls done exactly once, on an io thread.
  PendingCall send_async(ClientRequest request, ResponseCallback done);
  // send_async for a coroutine: it resumes on an io thread with the answer.
  CallbackAwaitable<Result<ClientResponse>> call(ClientRequest request);
  // Blocking forms of send_async.
  Result<ClientResponse> send(ClientRequest request);
  Result<ClientResponse> get(std::string host, uint16_t port, std::string target);
  Result<ClientResponse> post_json(std::string host, uint16_t port, std::string target,
                                   std::string body);

  // Sends the request with "Accept: text/event-stream" and calls on_event for
  // each event (comments included, is_comment set) as it arrives; then
  // on_done exactly once: ok when the server ended the stream, else why not.
  std::shared_ptr<SseStream> stream_sse(ClientRequest request, EventCallback on_event,
                                        DoneCallback on_done = nullptr);
  // Blocking form: returns when the stream ended.
  Status stream_sse_blocking(ClientRequest request, EventCallback on_event);

  // Connections opened so far (to observe pooling).
  size_t num_connections_opened() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace pdserve::server
