#include "common/server/http_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <future>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include "common/base/logging.h"
#include "common/server/client_impl.h"

namespace pdserve::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kUse = kClientUse;

// An idle pooled socket must have nothing to read: readable means the peer
// closed it (or sent garbage); either way it is unusable.
bool looks_closed(tcp::socket& socket) {
  pollfd p{socket.native_handle(), POLLIN, 0};
  int r = ::poll(&p, 1, 0);
  return r != 0 || !socket.is_open();
}

// The state of one plain request, for cancellation from shutdown().
struct OpState {
  explicit OpState(ClientStrand s) : strand(std::move(s)) {}
  ClientStrand strand;
  Connection* conn = nullptr;  // the connection in use, on the strand only
  bool cancelled = false;
};

ClientAwaitable<Result<ClientResponse>> perform(HttpClient::Impl& impl, OpState& op,
                                                const ClientRequest& req) {
  const ClientOptions& opts = impl.options();
  auto msg = HttpClient::Impl::build(req);
  std::string what = req.method + " " + req.host + ":" + std::to_string(req.port) + req.target;
  for (int attempt = 0;; ++attempt) {
    auto conn_or = co_await impl.checkout(req.host, req.port, /*allow_reuse=*/attempt == 0);
    if (!conn_or.ok()) co_return conn_or.status().with_context(what);
    std::unique_ptr<Connection> conn = std::move(conn_or).value();
    if (op.cancelled) co_return cancelled(what + ": cancelled");
    op.conn = conn.get();
    error_code ec;
    conn->stream.expires_after(opts.write_timeout);
    co_await http::async_write(conn->stream, msg, asio::redirect_error(kUse, ec));
    http::response_parser<http::string_body> parser;
    parser.body_limit(opts.max_response_bytes);
    if (!ec) {
      conn->stream.expires_after(req.read_timeout.value_or(opts.read_timeout));
      co_await http::async_read_header(conn->stream, conn->buffer, parser,
                                       asio::redirect_error(kUse, ec));
    }
    if (!ec && !parser.is_done()) {
      conn->stream.expires_after(req.read_timeout.value_or(opts.read_timeout));
      co_await http::async_read(conn->stream, conn->buffer, parser, asio::redirect_error(kUse, ec));
    }
    op.conn = nullptr;
    if (op.cancelled) co_return cancelled(what + ": cancelled");
    if (ec) {
      if (conn->reused && attempt == 0 && !parser.got_some() && is_stale_connection_error(ec)) {
        continue;  // the server had closed the pooled connection: once more, on a new one
      }
      co_return client_error(ec, what);
    }
    auto res = parser.release();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers.add(std::string(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (res.keep_alive()) impl.checkin(std::move(conn));
    co_return out;
  }
}

}  // namespace

Status client_error(const error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) return deadline_exceeded(what + ": timed out");
  if (ec == asio::error::operation_aborted) return cancelled(what + ": cancelled");
  if (ec == http::error::body_limit) return resource_exhausted(what + ": response too large");
  if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    return data_loss(what + ": malformed response: " + ec.message());
  }
  return unavailable(what + ": " + ec.message());
}

StatusCode status_code_for_http(int http_status) {
  switch (http_status) {
    case 400:
    case 413:
    case 422:
    case 431: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 409: return StatusCode::kAborted;
    case 429: return StatusCode::kResourceExhausted;
    case 499: return StatusCode::kCancelled;
    case 501: return StatusCode::kUnimplemented;
    case 502:
    case 503: return StatusCode::kUnavailable;
    case 408:
    case 504: return StatusCode::kDeadlineExceeded;
    default: return http_status >= 500 ? StatusCode::kInternal : StatusCode::kFailedPrecondition;
  }
}

bool is_stale_connection_error(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

ClientRequest ClientRequest::get(std::string host, uint16_t port, std::string target) {
  ClientRequest r;
  r.host = std::move(host);
  r.port = port;
  r.target = std::move(target);
  return r;
}

ClientRequest ClientRequest::post_json(std::string host, uint16_t port, std::string target,
                                       std::string body) {
  ClientRequest r = get(std::move(host), port, std::move(target));
  r.method = "POST";
  r.body = std::move(body);
  r.content_type = "application/json";
  return r;
}

HttpClient::Impl::Impl(ClientOptions options)
    : options_(std::move(options)), ioc_(options_.num_io_threads), work_(ioc_.get_executor()) {
  for (int i = 0; i < std::max(1, options_.num_io_threads); ++i) {
    threads_.emplace_back([this] { ioc_.run(); });
  }
}

HttpClient::Impl::~Impl() {
  shutdown();
}

bool HttpClient::Impl::on_io_thread() {
  return ioc_.get_executor().running_in_this_thread();
}

void HttpClient::Impl::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& [id, cancel] : in_flight_) cancel();
  }
  work_.reset();
  for (std::thread& t : threads_) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // destroyed from its own callback: cannot join itself
    } else {
      t.join();
    }
  }
  threads_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  idle_.clear();
}

ClientAwaitable<Result<std::unique_ptr<Connection>>> HttpClient::Impl::checkout(
    const std::string& host, uint16_t port, bool allow_reuse) {
  std::string key = host + ":" + std::to_string(port);
  if (allow_reuse) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = idle_.find(key);
    auto now = std::chrono::steady_clock::now();
    while (it != idle_.end() && !it->second.empty()) {
      std::unique_ptr<Connection> conn = std::move(it->second.back());
      it->second.pop_back();
      if (now - conn->idle_since > options_.max_idle_time) continue;
      if (looks_closed(conn->stream.socket())) continue;
      conn->reused = true;
      co_return conn;
    }
  }
  auto conn = std::make_unique<Connection>(ioc_.get_executor());
  conn->key = key;
  error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) {
    conn->stream.expires_after(options_.connect_timeout);
    co_await conn->stream.async_connect(tcp::endpoint(address, port),
                                        asio::redirect_error(kUse, ec));
  } else {
    tcp::resolver resolver(ioc_);
    auto results =
        co_await resolver.async_resolve(host, std::to_string(port), asio::redirect_error(kUse, ec));
    if (ec) co_return unavailable("resolve " + host + ": " + ec.message());
    conn->stream.expires_after(options_.connect_timeout);
    co_await conn->stream.async_connect(results, asio::redirect_error(kUse, ec));
  }
  if (ec) co_return client_error(ec, "connect " + key);
  conn->stream.socket().set_option(tcp::no_delay(true), ec);
  num_opened.fetch_add(1);
  co_return conn;
}

void HttpClient::Impl::checkin(std::unique_ptr<Connection> conn) {
  conn->stream.expires_never();
  conn->idle_since = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return;
  auto& idle = idle_[conn->key];
  if (idle.size() < options_.max_idle_per_host) idle.push_back(std::move(conn));
}

http::request<http::string_body> HttpClient::Impl::build(const ClientRequest& request) {
  http::request<http::string_body> msg;
  msg.version(11);
  msg.method_string(request.method);
  msg.target(request.target);
  msg.set(http::field::host, request.host + ":" + std::to_string(request.port));
  msg.set(http::field::user_agent, "pdserve");
  for (const auto& [name, value] : request.headers.fields()) msg.insert(name, value);
  if (!request.content_type.empty()) msg.set(http::field::content_type, request.content_type);
  msg.body() = request.body;
  msg.keep_alive(true);
  msg.prepare_payload();
  return msg;
}

uint64_t HttpClient::Impl::track(std::function<void()> cancel) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_op_id_++;
  if (shut_down_) {
    cancel();
  } else {
    in_flight_.emplace(id, std::move(cancel));
  }
  return id;
}

void HttpClient::Impl::untrack(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(id);
}

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

HttpClient::~HttpClient() {
  impl_->shutdown();
}

PendingCall HttpClient::send_async(ClientRequest request, ResponseCallback done) {
  auto op = std::make_shared<OpState>(asio::make_strand(impl_->ioc()));
  auto cancel = [op] {
    asio::post(op->strand, [op] {
      op->cancelled = true;
      if (op->conn) op->conn->stream.close();
    });
  };
  uint64_t id = impl_->track(cancel);
  auto run = [](std::shared_ptr<Impl> impl, std::shared_ptr<OpState> op, uint64_t id,
                ClientRequest req, ResponseCallback done) -> ClientAwaitable<void> {
    Result<ClientResponse> result = internal_error("request did not run");
    try {
      result = co_await perform(*impl, *op, req);
    } catch (const std::exception& e) {
      result = internal_error(std::string("http client: ") + e.what());
    }
    impl->untrack(id);
    done(std::move(result));
  };
  asio::co_spawn(op->strand, run(impl_, op, id, std::move(request), std::move(done)),
                 asio::detached);
  // Posting needs the io_context: only while the client lives.
  std::weak_ptr<Impl> weak = impl_;
  return PendingCall([weak, cancel] {
    if (std::shared_ptr<Impl> impl = weak.lock()) cancel();
  });
}

CallbackAwaitable<Result<ClientResponse>> HttpClient::call(ClientRequest request) {
  return CallbackAwaitable<Result<ClientResponse>>(
      [this, request = std::move(request)](ResponseCallback done) mutable {
        send_async(std::move(request), std::move(done));
      });
}

Result<ClientResponse> HttpClient::send(ClientRequest request) {
  if (impl_->on_io_thread()) {
    return failed_precondition("blocking HttpClient call from the client's own io thread");
  }
  std::promise<Result<ClientResponse>> promise;
  auto future = promise.get_future();
  send_async(std::move(request),
             [&promise](Result<ClientResponse> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Result<ClientResponse> HttpClient::get(std::string host, uint16_t port, std::string target) {
  return send(ClientRequest::get(std::move(host), port, std::move(target)));
}

Result<ClientResponse> HttpClient::post_json(std::string host, uint16_t port, std::string target,
                                             std::string body) {
  return send(ClientRequest::post_json(std::move(host), port, std::move(target), std::move(body)));
}

size_t HttpClient::num_connections_opened() const {
  return impl_->num_opened.load();
}

}  // namespace pdserve::server
