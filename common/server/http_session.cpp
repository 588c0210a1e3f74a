// One server connection: read a request, dispatch it, write the answer (a
// full response or an SSE stream), repeat while kept alive. Everything here
// runs on the connection's strand.
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

// After the standard headers: Asio's awaitable.hpp needs <utility> first.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "common/base/logging.h"
#include "common/server/exchange.h"
#include "common/server/server_impl.h"
#include "common/wire/openai_error.h"

namespace pdserve::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kUse = asio::use_awaitable;
// What drain() reads at once.
constexpr size_t kReadChunkBytes = size_t{64} << 10;

class Session {
 public:
  Session(Server::Impl& server, tcp::socket socket)
      : server(server),
        opts(server.options()),
        stream(std::move(socket)),
        wake_timer(stream.get_executor()),
        buffer(opts.max_header_bytes) {
    error_code ec;
    auto ep = stream.socket().remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    stream.socket().set_option(tcp::no_delay(true), ec);  // SSE: each token at once
    stream.socket().non_blocking(true, ec);               // send_now: a chunk sent at once
  }

  Server::Impl& server;
  const ServerOptions& opts;
  beast::tcp_stream stream;
  asio::steady_timer wake_timer;  // wakes the connection when a producer queued work
  // Bounded by max_header_bytes (at most kMaxHeaderBytes): a request's
  // headers, or a chunked body's trailer, must fit in it whole, so no field
  // reaches the 64 KiB Beast cannot store (it would throw out of the read);
  // the body passes through in pieces.
  beast::flat_buffer buffer;
  std::string remote;
  bool idle = true;       // waiting for the first byte of a request
  bool stopping = false;  // the server is stopping: answer with Connection: close
  bool cut = false;       // the server cut this connection
  // While write_answer waits for a stream's next bytes: that stream's
  // exchange. A wake-up then sends bytes the socket takes whole itself
  // (a token's chunk, as a rule) and resumes write_answer only for the rest,
  // handed over in `carried`.
  Exchange* waiting = nullptr;
  std::optional<Exchange::Work> carried;

  ~Session() { server.connection_closed(); }
};

// Overload answers tell when to come back (RFC 9110 10.2.3), unless the
// handler said already.
constexpr std::string_view kRetryAfterSeconds = "1";

http::response<http::string_body> to_beast(Response r, bool keep_alive) {
  if ((r.status == 429 || r.status == 503) && !r.headers.contains("Retry-After")) {
    r.headers.set("Retry-After", std::string(kRetryAfterSeconds));
  }
  http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
  for (auto& [name, value] : r.headers.fields()) res.insert(name, value);
  if (!r.content_type.empty() && !r.headers.contains("Content-Type")) {
    res.set(http::field::content_type, r.content_type);
  }
  res.set(http::field::server, "pdserve");
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  return res;
}

// The request as its headers tell it, without its body.
Request request_head(const http::request<http::string_body>& msg, const std::string& remote) {
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  split_target(req.target, &req.path, &req.query);
  for (const auto& field : msg) {
    req.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  req.remote_address = remote;
  req.received_at = std::chrono::steady_clock::now();
  return req;
}

// True unless Transfer-Encoding is absent or exactly "chunked": the parser
// would take "gzip, chunked" as plain chunked and hand over a body still
// coded, and no other coding is decoded here.
bool unknown_transfer_coding(const http::request<http::string_body>& msg) {
  bool present = false;
  int num_codings = 0;
  bool all_chunked = true;
  for (auto [it, end] = msg.equal_range(http::field::transfer_encoding); it != end; ++it) {
    present = true;
    for (const beast::string_view coding : http::token_list{it->value()}) {
      ++num_codings;
      all_chunked = all_chunked && beast::iequals(coding, "chunked");
    }
  }
  return present && (num_codings != 1 || !all_chunked);
}

// What the headers alone decide, before any of the body is read.
struct HeadVerdict {
  std::optional<Response> answer;  // answer this instead of calling a handler
  bool close = false;              // and close: the body cannot be framed
};

HeadVerdict judge_head(const http::request<http::string_body>& msg, const Routes::Match& match,
                       const Request& head) {
  HeadVerdict v;
  if (unknown_transfer_coding(msg)) {
    v.answer = openai_error(501, "unsupported Transfer-Encoding (only chunked is accepted)");
    v.close = true;
    return v;
  }
  if (!match.handler) {
    v.answer = openai_error(
        match.status, match.status == 404 ? "no route for " + head.path : "method not allowed");
    if (match.status == 405) v.answer->headers.set("Allow", match.allow);
    return v;
  }
  if (!match.options->check) return v;
  Status allowed = match.options->check(head);
  if (allowed.ok()) return v;
  v.answer = error_response(allowed);
  if (allowed.code() == StatusCode::kUnauthenticated) {
    v.answer->headers.set("WWW-Authenticate", "Bearer");
  }
  return v;
}

// Reads and drops what the client still sends (the rest of a rejected body)
// for a short while, so that it reads our answer instead of a reset. Memory
// stays bounded: nothing read is kept.
asio::awaitable<void> drain(Session& s) {
  error_code ec;
  s.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  s.stream.expires_after(std::chrono::seconds(2));
  std::vector<char> scratch(kReadChunkBytes);
  size_t total = 0;
  while (!ec && total < s.opts.max_body_bytes + (size_t{64} << 20)) {
    total +=
        co_await s.stream.async_read_some(asio::buffer(scratch), asio::redirect_error(kUse, ec));
  }
}

// Answers with "Connection: close", then drains: the request's body (if
// any) is never read.
asio::awaitable<void> answer_and_close(Session& s, Response response) {
  if (s.cut) co_return;
  auto res = to_beast(std::move(response), false);
  error_code ec;
  s.stream.expires_after(
      std::min<std::chrono::milliseconds>(s.opts.write_timeout, std::chrono::seconds(5)));
  co_await http::async_write(s.stream, res, asio::redirect_error(kUse, ec));
  if (!ec) co_await drain(s);
}

Response body_too_large(size_t body_limit) {
  return openai_error(413, "request body larger than " + std::to_string(body_limit) + " bytes");
}

// Answers a request that could not be read, when the client should hear why.
asio::awaitable<void> answer_read_error(Session& s, error_code read_ec, size_t body_limit) {
  int status = 0;
  std::string message;
  if (read_ec == http::error::header_limit || read_ec == http::error::buffer_overflow) {
    status = 431;
    message = "request header (or trailer) fields larger than " +
              std::to_string(s.opts.max_header_bytes) + " bytes";
  } else if (read_ec == http::error::body_limit) {
    co_await answer_and_close(s, body_too_large(body_limit));
    co_return;
  } else if (read_ec.category() == http::make_error_code(http::error::bad_method).category() &&
             read_ec != http::error::end_of_stream && read_ec != http::error::partial_message) {
    status = 400;
    message = "malformed request: " + read_ec.message();
  }
  if (status == 0) co_return;
  PD_LOG(DEBUG) << s.remote << ": " << message;
  co_await answer_and_close(s, openai_error(status, message));
}

// Watches the idle socket while an answer is pending: a readable socket with
// nothing to read means the client closed it (or reset it).
void watch_disconnect(const std::shared_ptr<Session>& s, const std::shared_ptr<Exchange>& ex) {
  s->stream.socket().async_wait(tcp::socket::wait_read, [s, ex](error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      // Readable: a pipelined request (stop watching), the peer's EOF, or a
      // spurious wake-up of the reactor (nothing to read yet: watch on). Only
      // a peek tells EOF from the last.
      char byte;
      const ssize_t n =
          ::recv(s->stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        watch_disconnect(s, ex);
        return;
      }
    }
    ex->mark_closed();
    s->wake_timer.cancel();
  });
}

// One chunk of a chunked body (RFC 9112 7.1): its size in hex, CRLF, the
// bytes, CRLF. Built on the stack (Beast's chunk_body allocates its size
// line), so a token's chunk costs no allocation.
class Chunk {
 public:
  explicit Chunk(std::string_view bytes) : bytes_(bytes) {
    const auto [end, ec] = std::to_chars(head_, head_ + kMaxHexDigits, bytes.size(), 16);
    head_len_ = static_cast<size_t>(end - head_);
    head_[head_len_++] = '\r';
    head_[head_len_++] = '\n';
  }
  // The buffer sequence of the chunk, for sendmsg or asio::async_write.
  std::array<asio::const_buffer, 3> buffers() const {
    return {asio::const_buffer(head_, head_len_), asio::const_buffer(bytes_.data(), bytes_.size()),
            asio::const_buffer("\r\n", 2)};
  }
  size_t size() const { return head_len_ + bytes_.size() + 2; }

 private:
  static constexpr size_t kMaxHexDigits = 2 * sizeof(size_t);
  std::string_view bytes_;
  char head_[kMaxHexDigits + 2];
  size_t head_len_ = 0;
};

// What the socket takes of a chunk of a streamed body at once (a
// non-blocking send: no timer, no completion to dispatch): all of a token's
// few hundred bytes as a rule. On the socket's descriptor itself, so that a
// producer's thread may send while the connection's strand waits.
Exchange::Sent send_now(int fd, std::string_view bytes) {
  const Chunk chunk(bytes);
  iovec iov[3];
  size_t num_iov = 0, total = 0;
  for (const asio::const_buffer& b : chunk.buffers()) {
    if (b.size() == 0) continue;
    iov[num_iov++] = {const_cast<void*>(b.data()), b.size()};
    total += b.size();
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = num_iov;
  const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) return {0, false, errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR};
  return {static_cast<size_t>(n), static_cast<size_t>(n) == total, false};
}

int fd_of(Session& s) {
  return s.stream.socket().native_handle();
}

// The rest of a chunk the socket did not take at once, under write_timeout.
asio::awaitable<bool> write_rest(Session& s, const Chunk& chunk, size_t num_sent) {
  const std::array<asio::const_buffer, 3> buffers = chunk.buffers();
  beast::buffers_suffix<std::array<asio::const_buffer, 3>> rest(buffers);
  rest.consume(num_sent);
  error_code ec;
  s.stream.expires_after(s.opts.write_timeout);
  co_await asio::async_write(s.stream, rest, asio::redirect_error(kUse, ec));
  co_return !ec;
}

// A producer queued work (on the connection's strand): while write_answer
// waits for a stream's next bytes, bytes the socket takes whole are sent
// here; anything else resumes write_answer.
void on_wake(Session& s) {
  if (s.waiting != nullptr && !s.carried) {
    Exchange::Work w = s.waiting->take();
    const bool bytes_only = !w.closed && !w.response && !w.stream_head && !w.stream_done &&
                            w.num_sent == 0 && !w.send_failed;
    if (bytes_only && w.bytes.empty()) {  // taken by an earlier wake-up
      s.waiting->open_direct();
      return;
    }
    if (bytes_only) {
      const Exchange::Sent sent = send_now(fd_of(s), w.bytes);
      w.num_sent = sent.num_sent;
      w.send_failed = sent.failed;
      if (sent.whole) {
        s.waiting->mark_written(w.bytes.size());
        s.waiting->open_direct();
        return;
      }
    }
    s.carried = std::move(w);
  }
  s.wake_timer.cancel();
}

// Writes whatever the exchange has, waiting for the producer in between,
// until the answer is done (true) or the connection must end (false).
asio::awaitable<bool> write_answer(const std::shared_ptr<Session>& s,
                                   const std::shared_ptr<Exchange>& ex, bool keep_alive) {
  error_code ec;
  s->carried.reset();  // of an answer on this connection that was cut
  for (;;) {
    if (s->cut) co_return false;
    Exchange::Work work = s->carried ? std::move(*s->carried) : ex->take();
    s->carried.reset();
    if (work.closed) co_return false;
    if (work.response) {
      auto res = to_beast(std::move(*work.response), keep_alive && !s->stopping);
      s->stream.expires_after(s->opts.write_timeout);
      co_await http::async_write(s->stream, res, asio::redirect_error(kUse, ec));
      if (ec) co_return false;
      ex->mark_done();
      co_return true;
    }
    if (work.stream_head) {
      http::response<http::empty_body> res{static_cast<http::status>(work.stream_head->status), 11};
      for (auto& [name, value] : work.stream_head->headers.fields()) res.insert(name, value);
      res.set(http::field::content_type, "text/event-stream");
      res.set(http::field::cache_control, "no-cache");
      res.set("X-Accel-Buffering", "no");
      res.set(http::field::server, "pdserve");
      res.keep_alive(keep_alive && !s->stopping);
      res.chunked(true);
      http::response_serializer<http::empty_body> sr{res};
      s->stream.expires_after(s->opts.write_timeout);
      co_await http::async_write_header(s->stream, sr, asio::redirect_error(kUse, ec));
      if (ec) co_return false;
    }
    if (!work.bytes.empty()) {
      const Chunk chunk(work.bytes);
      if (work.num_sent == 0 && !work.send_failed) {
        const Exchange::Sent sent = send_now(fd_of(*s), work.bytes);
        work.num_sent = sent.num_sent;
        work.send_failed = sent.failed;
      }
      if (work.send_failed) co_return false;
      if (work.num_sent < chunk.size()) {
        if (!co_await write_rest(*s, chunk, work.num_sent)) co_return false;
      }
      ex->mark_written(work.bytes.size());
    }
    if (work.stream_done) {
      s->stream.expires_after(s->opts.write_timeout);
      co_await asio::async_write(s->stream, http::make_chunk_last(),
                                 asio::redirect_error(kUse, ec));
      if (ec) co_return false;
      ex->mark_done();
      co_return true;
    }
    if (!work.stream_head && work.bytes.empty()) {
      s->waiting = ex.get();
      ex->open_direct();
      s->wake_timer.expires_at(asio::steady_timer::time_point::max());
      co_await s->wake_timer.async_wait(asio::redirect_error(kUse, ec));
      ex->close_direct();
      s->waiting = nullptr;
    }
  }
}

// Dispatches one request (or answers it with `refusal`) and writes its
// answer; false when the connection must end.
asio::awaitable<bool> serve(const std::shared_ptr<Session>& s, Request req,
                            const Routes::Match& match, std::optional<Response> refusal,
                            bool keep_alive) {
  auto ex = std::make_shared<Exchange>(s->opts.max_sse_buffered_bytes);
  std::weak_ptr<Session> weak = s;
  ex->set_wake([weak, executor = s->stream.get_executor()] {
    asio::post(executor, [weak] {
      if (auto s = weak.lock()) on_wake(*s);
    });
  });
  // The descriptor outlives every direct send: the exchange drops it (or
  // the connection closes it) before the socket is closed.
  if (s->opts.producer_sends)
    ex->set_direct_send([fd = fd_of(*s)](std::string_view bytes) { return send_now(fd, bytes); });
  struct CloseOnExit {
    std::shared_ptr<Exchange> ex;
    ~CloseOnExit() { ex->mark_closed(); }  // no-op when the answer was done
  } close_on_exit{ex};

  if (refusal) {
    ex->respond(std::move(*refusal));
  } else {
    std::string what = req.method + " " + req.path;
    // Held across the call so that a throwing handler is logged once, as a throw.
    auto writer = std::make_shared<ResponseWriter>(ex);
    try {
      (*match.handler)(std::move(req), writer);
    } catch (const std::exception& e) {
      PD_LOG(ERROR) << "handler for " << what << " threw (a bug): " << e.what();
      ex->respond(openai_error(500, "internal error"));
    } catch (...) {
      PD_LOG(ERROR) << "handler for " << what << " threw a non-exception (a bug)";
      ex->respond(openai_error(500, "internal error"));
    }
    writer.reset();  // the handler's copies, if any, keep the answer open
  }
  bool watching = s->buffer.size() == 0;
  if (watching) watch_disconnect(s, ex);
  bool ok = co_await write_answer(s, ex, keep_alive);
  if (watching && ok) {
    error_code ec;
    s->stream.socket().cancel(ec);
  }
  co_return ok;
}

asio::awaitable<void> run_session(std::shared_ptr<Session> s) {
  std::weak_ptr<Session> weak = s;
  uint64_t id = s->server.add_session([weak, executor = s->stream.get_executor()](bool force) {
    asio::post(executor, [weak, force] {
      auto s = weak.lock();
      if (!s) return;
      s->stopping = true;
      if (force) s->cut = true;
      if (force || s->idle) {
        if (s->waiting != nullptr) s->waiting->mark_closed();  // no producer sends any more
        s->stream.close();
        s->wake_timer.cancel();
      }
    });
  });
  struct Unregister {
    Server::Impl& server;
    uint64_t id;
    ~Unregister() { server.remove_session(id); }
  } unregister{s->server, id};
  if (s->server.stopping()) s->stopping = true;

  const ServerOptions& opts = s->opts;
  bool first = true;
  error_code ec;
  for (;;) {
    if (s->buffer.size() == 0) {
      // Between requests: wait for the first byte of the next one.
      s->idle = true;
      if (s->stopping) break;
      s->stream.expires_after(first ? opts.header_timeout : opts.idle_timeout);
      const size_t room = std::min<size_t>(16 << 10, s->buffer.max_size());
      size_t n = co_await s->stream.async_read_some(s->buffer.prepare(room),
                                                    asio::redirect_error(kUse, ec));
      s->idle = false;
      if (ec) break;
      s->buffer.commit(n);
    }
    s->idle = false;
    first = false;

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
    // The route's limit applies once the headers named the route.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    s->stream.expires_after(opts.header_timeout);
    co_await http::async_read_header(s->stream, s->buffer, parser, asio::redirect_error(kUse, ec));
    if (ec) {
      co_await answer_read_error(*s, ec, opts.max_body_bytes);
      break;
    }
    // Bounded before authenticated: route, coding and credentials are
    // judged on the headers; a refused request's body is never read.
    Request req = request_head(parser.get(), s->remote);
    const Routes::Match match = s->server.routes().resolve(req.method, req.path);
    HeadVerdict verdict = judge_head(parser.get(), match, req);
    if (verdict.answer && (verdict.close || !parser.is_done())) {
      co_await answer_and_close(*s, std::move(*verdict.answer));
      break;
    }
    const size_t body_limit = match.options && match.options->max_body_bytes > 0
                                  ? match.options->max_body_bytes
                                  : opts.max_body_bytes;
    if (parser.content_length() && *parser.content_length() > body_limit) {
      co_await answer_and_close(*s, body_too_large(body_limit));
      break;
    }
    if (!parser.is_done()) {
      parser.body_limit(body_limit);  // counts a chunked body as it arrives
      auto expect = parser.get()[http::field::expect];
      if (beast::iequals(expect, "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        s->stream.expires_after(opts.write_timeout);
        co_await asio::async_write(s->stream, asio::buffer(kContinue.data(), kContinue.size()),
                                   asio::redirect_error(kUse, ec));
      }
      if (!ec) {
        s->stream.expires_after(opts.body_timeout);
        co_await http::async_read(s->stream, s->buffer, parser, asio::redirect_error(kUse, ec));
      }
      if (ec) {
        co_await answer_read_error(*s, ec, body_limit);
        break;
      }
    }
    req.body = std::move(parser.get().body());
    const bool keep_alive = parser.get().keep_alive();
    if (!co_await serve(s, std::move(req), match, std::move(verdict.answer), keep_alive)) break;
    if (!keep_alive || s->stopping) break;
  }
  s->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  s->stream.close();
}

}  // namespace

void spawn_session(Server::Impl& server, tcp::socket socket) {
  auto session = std::make_shared<Session>(server, std::move(socket));
  auto executor = session->stream.get_executor();
  asio::co_spawn(executor, run_session(std::move(session)), asio::detached);
}

void refuse_connection(Server::Impl& server, tcp::socket socket) {
  auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
  auto executor = stream->get_executor();
  const size_t max_connections = static_cast<size_t>(server.options().max_connections);
  asio::co_spawn(
      executor,
      [stream, max_connections]() -> asio::awaitable<void> {
        Response r = openai_error(503, "too many connections (the limit is " +
                                           std::to_string(max_connections) + "); retry later");
        auto res = to_beast(std::move(r), false);
        error_code ec;
        stream->expires_after(std::chrono::seconds(1));
        co_await http::async_write(*stream, res, asio::redirect_error(kUse, ec));
        // Read (and drop) what the client sent for a moment, so that it reads
        // the answer instead of a reset.
        stream->socket().shutdown(tcp::socket::shutdown_send, ec);
        std::vector<char> scratch(4096);
        while (!ec) {
          co_await stream->async_read_some(asio::buffer(scratch), asio::redirect_error(kUse, ec));
        }
        stream->close();
      },
      asio::detached);
}

}  // namespace pdserve::server
