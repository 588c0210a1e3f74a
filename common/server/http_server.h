// HTTP/1.1 server (Boost.Beast and C++20 coroutines behind a pimpl).
//
//   Routes routes;
//   routes.add("GET", "/ping", [](const Request&) { return Response::text(200, "pong"); });
//   ServerOptions opts;  opts.port = 0;            // 0: ephemeral
//   Result<std::unique_ptr<Server>> s = Server::start(opts, std::move(routes));
//   uint16_t port = (*s)->port();
//   ...
//   (*s)->stop(std::chrono::seconds(5));          // graceful
//
// Connections: keep-alive (HTTP/1.1 default; "Connection: close" honoured),
// one request at a time per connection, at most max_connections at once
// (one more is answered 503 with Retry-After and closed). Limits are
// explicit and judged on the headers, before the body is read: no route
// (404/405), a route's header check that fails (401: see RouteOptions), or
// a Transfer-Encoding other than "chunked" (501) is answered without reading
// the body. A body over its route's limit (RouteOptions::max_body_bytes, by
// default max_body_bytes) is answered 413, headers (or a chunked body's
// trailer) over max_header_bytes 431, a malformed request 400; each of
// these closes the connection, as does a request whose headers or body do
// not arrive in time (no answer). Every 429 and 503 answer carries
// "Retry-After: 1" unless its handler set one. Every socket wait has a
// deadline: idle_timeout between requests on a kept-alive connection,
// header_timeout for a request's headers (from connection accept or the
// request's first byte), body_timeout for its body, write_timeout for every
// write (each SSE chunk included).
//
// While a handler has not finished its answer the server watches the socket:
// a client that closes it is reported through ResponseWriter / SseWriter
// (is_closed, on_disconnect). A client that pipelines its next request is not
// watched further for that answer.
//
// Thread-safety: start, port and stop may be called from any thread; stop and
// the destructor must not be called from a handler or on an io thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/base/status.h"
#include "common/server/routes.h"

namespace pdserve::server {

// The largest max_header_bytes: Beast stores no field of 64 KiB or more (it
// throws), and a header block (or a chunked body's trailer) within this
// limit cannot hold one.
inline constexpr size_t kMaxHeaderBytes = size_t{64} << 10;

struct ServerOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 literal; "0.0.0.0" for all
  uint16_t port = 0;                  // 0: the OS picks one; see Server::port()
  int num_io_threads = 2;
  size_t max_body_bytes = size_t{32} << 20;         // long prompts must fit
  size_t max_header_bytes = kMaxHeaderBytes;        // request line + all fields (or the trailer)
  size_t max_sse_buffered_bytes = size_t{4} << 20;  // per stream, see SseWriter
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  int listen_backlog = 1024;
  // Connections open at once; one more is answered 503 (Retry-After) and closed.
  int max_connections = 1024;
  // A stream's event queued while its connection waits for it (all else
  // written) is sent on the producer's own thread, without blocking: no
  // hand-off to the connection's io thread per event; what the socket does
  // not take at once goes on from the io thread. For a producer that runs on
  // an io thread of its own (the router relays a decode worker's event from
  // the HTTP client's io thread that read it) or whose send time matters
  // (the router benchmark's replay upstream stamps each event as it writes
  // it); an engine loop should not make the system calls.
  bool producer_sends = false;
};

class Server {
 public:
  // Binds, listens and starts the io threads. kInvalidArgument for a bad
  // address or options, kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Routes routes);

  ~Server();  // stop(0) when still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the ephemeral one when options.port was 0).
  uint16_t port() const;
  // Connections open now.
  size_t num_connections() const;

  // Graceful stop: stops accepting, closes idle connections, lets requests in
  // flight (streams included) finish for up to `grace`, then cuts the rest
  // (their writers report is_closed and fire on_disconnect) and joins the io
  // threads. Answers given during the grace period carry "Connection: close".
  // Idempotent; later calls return at once.
  void stop(std::chrono::milliseconds grace);

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pdserve::server
