// How a handler answers: a ResponseWriter for one request, and an SseWriter
// when the answer is a stream of server-sent events.
//
// A handler gets a std::shared_ptr<ResponseWriter> and either calls respond()
// at once or keeps the pointer and answers later from any thread. Exactly one
// of respond() or start_sse() takes effect; later calls are ignored and
// return false. When the last reference to a ResponseWriter that never
// answered is dropped, the server answers 500 and logs it (a handler bug).
//
// Streaming:
//
//   void generate(Request req, std::shared_ptr<ResponseWriter> w) {
//     std::shared_ptr<SseWriter> sse = w->start_sse();
//     sse->on_disconnect([id] { engine.cancel(id); });   // client went away
//     engine.submit(id, [sse](Token t) {                // engine thread
//       if (!sse->send_event(to_json(t)).ok()) return;  // closed or too far behind
//       if (t.last) sse->close();
//     });
//   }
//
// Backpressure: at most ServerOptions::max_sse_buffered_bytes wait for the
// socket; send_event fails with kResourceExhausted beyond that (nothing is
// queued) and the producer decides: wait_writable(), drop, or cancel.
//
// Thread-safety: every method of both classes may be called from any thread.
// Disconnect callbacks run on a server io thread, at most once each, never
// while a lock of this library is held; they must not block.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "common/base/status.h"
#include "common/wire/http_message.h"

namespace pdserve::server {

class Exchange;  // internal state shared with the connection (exchange.h)

class SseWriter {
 public:
  explicit SseWriter(std::shared_ptr<Exchange> exchange);
  // Dropping the last reference ends the stream as close() does.
  ~SseWriter();
  SseWriter(const SseWriter&) = delete;
  SseWriter& operator=(const SseWriter&) = delete;

  // Queues one event ("data: ...\n\n", multi-line data split into lines).
  // kCancelled once the stream is closed (client gone, close(), server
  // stopped); kResourceExhausted when the buffer is full (event dropped).
  Status send_event(std::string_view data, std::string_view event = {});
  // Queues a comment line (": text"), e.g. a keep-alive ping. Same errors.
  Status send_comment(std::string_view text);
  // Ends the stream after what is queued has been written. Idempotent.
  void close();

  // True once the client went away, the connection failed, the server is
  // stopping it, or close() was called.
  bool is_closed() const;
  // Runs cb once when the client goes away or the connection fails before
  // the stream ended normally; runs it at once (on the caller's thread) when
  // that already happened. Not called after a normal close().
  void on_disconnect(std::function<void()> cb);
  // Bytes queued and not yet written to the socket.
  size_t buffered_bytes() const;
  // Blocks until the buffer is at most half full or the stream is closed, at
  // most `timeout`. True when there is room. Do not call on a server io thread.
  bool wait_writable(std::chrono::milliseconds timeout);

 private:
  std::shared_ptr<Exchange> exchange_;
};

class ResponseWriter {
 public:
  explicit ResponseWriter(std::shared_ptr<Exchange> exchange);
  ~ResponseWriter();  // answers 500 when nothing was answered
  ResponseWriter(const ResponseWriter&) = delete;
  ResponseWriter& operator=(const ResponseWriter&) = delete;

  // Sends a complete response. False when already answered or the client is gone.
  bool respond(Response response);
  // Starts a text/event-stream response (chunked, no-cache) with `status`
  // and extra headers. Returns nullptr when already answered.
  std::shared_ptr<SseWriter> start_sse(int status = 200, Headers headers = {});

  // True once the client went away or the connection failed.
  bool is_closed() const;
  // As SseWriter::on_disconnect; fires only when the client goes away before
  // the answer was fully written.
  void on_disconnect(std::function<void()> cb);

 private:
  std::shared_ptr<Exchange> exchange_;
};

}  // namespace pdserve::server
