// Internal to common/server: the state behind HttpClient, shared by
// http_client.cpp (pool, plain requests) and sse_stream.cpp (SSE requests).
// Includes Beast: never include this from a public header.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/server/http_client.h"

namespace pdserve::server {

// Every request of the client runs as a coroutine on a strand of its own.
// Its awaitables name that executor type rather than any_io_executor: a
// type-erased strand does not fit any_io_executor's small buffer, so every
// operation awaited (a stream's read per token) would allocate copies of it.
using ClientStrand = boost::asio::strand<boost::asio::io_context::executor_type>;
template <typename T>
using ClientAwaitable = boost::asio::awaitable<T, ClientStrand>;
inline constexpr boost::asio::use_awaitable_t<ClientStrand> kClientUse{};

// One TCP connection to host:port, used by one request at a time.
struct Connection {
  explicit Connection(const boost::asio::any_io_executor& executor) : stream(executor) {}
  boost::beast::tcp_stream stream;
  boost::beast::flat_buffer buffer;
  std::string key;  // "host:port"
  bool reused = false;
  std::chrono::steady_clock::time_point idle_since;
};

// Maps a Beast/Asio error to a Status: timeouts → kDeadlineExceeded,
// operation_aborted → kCancelled, body_limit → kResourceExhausted, parse
// errors → kDataLoss, the rest (refused, reset, eof) → kUnavailable.
Status client_error(const boost::system::error_code& ec, const std::string& what);

// A Status code for a non-2xx HTTP status (the inverse of http_status_for).
StatusCode status_code_for_http(int http_status);

// True for errors a stale pooled connection gives (closed or reset by peer).
bool is_stale_connection_error(const boost::system::error_code& ec);

class HttpClient::Impl {
 public:
  explicit Impl(ClientOptions options);
  ~Impl();

  const ClientOptions& options() const { return options_; }
  boost::asio::io_context& ioc() { return ioc_; }
  bool on_io_thread();
  void shutdown();  // cancels in-flight work, joins threads

  // A pooled connection to host:port, or a new one (connect_timeout applies).
  ClientAwaitable<Result<std::unique_ptr<Connection>>> checkout(const std::string& host,
                                                                uint16_t port, bool allow_reuse);
  // Returns a connection whose last answer was complete and kept alive.
  void checkin(std::unique_ptr<Connection> conn);
  // Builds the Beast request (Host, User-Agent, Content-Type, length).
  static boost::beast::http::request<boost::beast::http::string_body> build(
      const ClientRequest& request);

  // In-flight operations register a cancel function so shutdown can stop them.
  uint64_t track(std::function<void()> cancel);
  void untrack(uint64_t id);

  std::atomic<size_t> num_opened{0};

 private:
  const ClientOptions options_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
  uint64_t next_op_id_ = 1;
  std::unordered_map<uint64_t, std::function<void()>> in_flight_;
  bool shut_down_ = false;
};

}  // namespace pdserve::server
