// HttpClient's SSE mode: one request whose answer is read event by event.
#include <condition_variable>
#include <limits>
#include <mutex>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include "common/server/client_impl.h"

namespace pdserve::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {
constexpr auto kUse = kClientUse;
constexpr size_t kMaxErrorBody = size_t{1} << 20;
// What one read of a stream's body asks the socket for.
constexpr size_t kReadBytes = size_t{16} << 10;
constexpr size_t kBodyScratchBytes = size_t{16} << 10;

// Where the HTTP parser puts the body bytes of what a stream read: one per
// thread, not per stream, since they go to the SSE parser before the stream
// waits again (a coroutine's locals live in its frame: 16 KiB per stream in
// flight, allocated per request).
char* body_scratch() {
  thread_local char scratch[kBodyScratchBytes];
  return scratch;
}
}  // namespace

class SseStream::State {
 public:
  explicit State(ClientStrand s) : strand(std::move(s)) {}

  ClientStrand strand;
  Connection* conn = nullptr;  // on the strand only
  bool cancelled = false;      // on the strand only

  void post_cancel(std::shared_ptr<State> self) {
    asio::post(strand, [self] {
      self->cancelled = true;
      if (self->conn) self->conn->stream.close();
    });
  }
  void set_http_status(int status) {
    std::lock_guard<std::mutex> lock(mu);
    http_status = status;
  }
  void finish(Status status, std::string body) {
    std::lock_guard<std::mutex> lock(mu);
    final_status = std::move(status);
    error_body = std::move(body);
    done = true;
    cv.notify_all();
  }

  mutable std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status final_status;
  int http_status = 0;
  std::string error_body;
};

namespace {

// The silence deadline of a stream being read: the connection is closed
// (its read fails; timed_out() tells why) once no bytes came for `timeout`.
// One timer, re-armed once per timeout rather than once per read: a decode
// worker's token event is one read. Runs on the stream's strand.
class SilenceWatch : public std::enable_shared_from_this<SilenceWatch> {
 public:
  SilenceWatch(const ClientStrand& strand, Connection& conn, std::chrono::milliseconds timeout)
      : timer_(strand), conn_(&conn), timeout_(timeout) {}

  void start() {
    last_bytes_ = Clock::now();
    arm();
  }
  void saw_bytes() { last_bytes_ = Clock::now(); }
  bool timed_out() const { return timed_out_; }
  // No more reads: the connection may go back to the pool.
  void stop() {
    conn_ = nullptr;
    timer_.cancel();
  }

 private:
  using Clock = std::chrono::steady_clock;

  void arm() {
    timer_.expires_at(last_bytes_ + timeout_);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->conn_ == nullptr) return;
      if (Clock::now() < self->last_bytes_ + self->timeout_) {
        self->arm();
        return;
      }
      self->timed_out_ = true;
      self->conn_->stream.close();
    });
  }

  asio::steady_timer timer_;
  Connection* conn_;
  const std::chrono::milliseconds timeout_;
  Clock::time_point last_bytes_;
  bool timed_out_ = false;
};

// Reads the rest of a non-2xx answer (bounded) for error_body().
ClientAwaitable<std::string> read_error_body(Connection& conn,
                                             http::response_parser<http::buffer_body>& parser,
                                             std::chrono::milliseconds timeout) {
  std::string body;
  char buf[16 << 10];
  error_code ec;
  while (!parser.is_done() && body.size() < kMaxErrorBody) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof(buf);
    conn.stream.expires_after(timeout);
    co_await http::async_read_some(conn.stream, conn.buffer, parser,
                                   asio::redirect_error(kUse, ec));
    if (ec == http::error::need_buffer) ec = {};
    body.append(buf, sizeof(buf) - parser.get().body().size);
    if (ec) break;
  }
  co_return body;
}

ClientAwaitable<Status> run(HttpClient::Impl& impl, SseStream::State& st, ClientRequest req,
                            const HttpClient::EventCallback& on_event, std::string* error_body) {
  const ClientOptions& opts = impl.options();
  if (!req.headers.contains("Accept")) req.headers.set("Accept", "text/event-stream");
  auto msg = HttpClient::Impl::build(req);
  auto read_timeout = req.read_timeout.value_or(opts.read_timeout);
  std::string what = req.method + " " + req.host + ":" + std::to_string(req.port) + req.target;
  for (int attempt = 0;; ++attempt) {
    auto conn_or = co_await impl.checkout(req.host, req.port, /*allow_reuse=*/attempt == 0);
    if (!conn_or.ok()) co_return conn_or.status().with_context(what);
    std::unique_ptr<Connection> conn = std::move(conn_or).value();
    if (st.cancelled) co_return cancelled(what + ": cancelled");
    st.conn = conn.get();
    struct Release {
      SseStream::State& st;
      ~Release() { st.conn = nullptr; }
    } release{st};

    error_code ec;
    conn->stream.expires_after(opts.write_timeout);
    co_await http::async_write(conn->stream, msg, asio::redirect_error(kUse, ec));
    http::response_parser<http::buffer_body> parser;
    // Unbounded stream (each event is bounded by SseParser). Not boost::none:
    // Beast 1.74 compares a Content-Length against it and always fails.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (!ec) {
      conn->stream.expires_after(read_timeout);
      co_await http::async_read_header(conn->stream, conn->buffer, parser,
                                       asio::redirect_error(kUse, ec));
    }
    if (st.cancelled) co_return cancelled(what + ": cancelled");
    if (ec) {
      if (conn->reused && attempt == 0 && !parser.got_some() && is_stale_connection_error(ec)) {
        continue;
      }
      co_return client_error(ec, what);
    }
    int status = static_cast<int>(parser.get().result_int());
    st.set_http_status(status);
    if (status < 200 || status >= 300) {
      *error_body = co_await read_error_body(*conn, parser, read_timeout);
      co_return Status(status_code_for_http(status), what + ": HTTP " + std::to_string(status));
    }

    SseParser sse(opts.max_sse_event_bytes);
    conn->stream.expires_never();
    auto silence = std::make_shared<SilenceWatch>(st.strand, *conn, read_timeout);
    struct StopWatch {
      SilenceWatch& watch;
      ~StopWatch() { watch.stop(); }
    } stop_watch{*silence};
    silence->start();
    // The body is parsed here as http::async_read_some would, reading from
    // the socket itself: one asynchronous operation per read (a token's
    // event), none of the composed operations' layers around it.
    parser.eager(true);
    while (!parser.is_done()) {
      char* const buf = body_scratch();  // this thread's: not held across the read below
      parser.get().body().data = buf;
      parser.get().body().size = kBodyScratchBytes;
      ec = http::error::need_more;
      if (conn->buffer.size() > 0) conn->buffer.consume(parser.put(conn->buffer.data(), ec));
      const size_t num_body_bytes = kBodyScratchBytes - parser.get().body().size;
      if (ec == http::error::need_more && num_body_bytes == 0) {
        const size_t n = co_await conn->stream.socket().async_read_some(
            conn->buffer.prepare(kReadBytes), asio::redirect_error(kUse, ec));
        conn->buffer.commit(n);
        if (silence->timed_out()) {
          ec = beast::error::timeout;
        } else {
          silence->saw_bytes();
        }
        if (st.cancelled) co_return cancelled(what + ": cancelled");
        if (ec == asio::error::eof) {  // the end of a body without a length, else cut short
          ec = {};
          parser.put_eof(ec);
        }
        if (ec) co_return client_error(ec, what + " (stream)");
        continue;
      }
      if (ec == http::error::need_more || ec == http::error::need_buffer) ec = {};
      if (ec) co_return client_error(ec, what + " (stream)");
      Status fed = sse.feed(std::string_view(buf, num_body_bytes), [&](const SseEvent& ev) {
        if (!st.cancelled && !on_event(ev)) st.cancelled = true;
      });
      if (st.cancelled) co_return cancelled(what + ": cancelled");
      if (!fed.ok()) co_return fed.with_context(what);
    }
    if (sse.pending_bytes() > 0) co_return data_loss(what + ": stream ended mid-event");
    bool keep_alive = parser.get().keep_alive();
    st.conn = nullptr;
    silence->stop();
    if (keep_alive) impl.checkin(std::move(conn));
    co_return ok_status();
  }
}

}  // namespace

SseStream::SseStream(std::shared_ptr<State> state) : state_(std::move(state)) {}
SseStream::~SseStream() = default;

void SseStream::cancel() {
  state_->post_cancel(state_);
}

bool SseStream::done() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->done;
}

Status SseStream::wait() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->done; });
  return state_->final_status;
}

int SseStream::http_status() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->http_status;
}

std::string SseStream::error_body() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->error_body;
}

std::shared_ptr<SseStream> HttpClient::stream_sse(ClientRequest request, EventCallback on_event,
                                                  DoneCallback on_done) {
  auto state = std::make_shared<SseStream::State>(asio::make_strand(impl_->ioc()));
  uint64_t id = impl_->track([state] { state->post_cancel(state); });
  auto body = [](std::shared_ptr<Impl> impl, std::shared_ptr<SseStream::State> st, uint64_t id,
                 ClientRequest req, EventCallback on_event,
                 DoneCallback on_done) -> ClientAwaitable<void> {
    std::string error_body;
    Status status;
    try {
      status = co_await run(*impl, *st, std::move(req), on_event, &error_body);
    } catch (const std::exception& e) {
      status = internal_error(std::string("sse stream: ") + e.what());
    }
    impl->untrack(id);
    st->finish(status, std::move(error_body));
    if (on_done) on_done(status);
  };
  asio::co_spawn(
      state->strand,
      body(impl_, state, id, std::move(request), std::move(on_event), std::move(on_done)),
      asio::detached);
  return std::make_shared<SseStream>(std::move(state));
}

Status HttpClient::stream_sse_blocking(ClientRequest request, EventCallback on_event) {
  if (impl_->on_io_thread()) {
    return failed_precondition("blocking HttpClient call from the client's own io thread");
  }
  return stream_sse(std::move(request), std::move(on_event))->wait();
}

}  // namespace pdserve::server
