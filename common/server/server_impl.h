// Internal to common/server: the state behind Server, shared by
// http_server.cpp (accept loop, threads, stop) and http_session.cpp (one
// connection). Includes Asio: never include this from a public header.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/server/http_server.h"

namespace pdserve::server {

class Server::Impl {
 public:
  Impl(ServerOptions options, Routes routes);

  Status listen();
  void run_threads();
  void stop(std::chrono::milliseconds grace);

  const ServerOptions& options() const { return options_; }
  const Routes& routes() const { return routes_; }
  bool stopping() const { return stopping_.load(); }
  uint16_t port() const { return port_; }
  size_t num_connections() const;

  // A connection registers how to close it: close(false) closes it only when
  // it is idle between requests and makes it answer its current request with
  // "Connection: close"; close(true) cuts it. Both post to its strand.
  uint64_t add_session(std::function<void(bool force)> close);
  void remove_session(uint64_t id);
  // Counts an accepted connection against ServerOptions::max_connections:
  // false (nothing counted) when the listener is full. Every admitted
  // connection calls connection_closed() once when it ends.
  bool admit_connection();
  void connection_closed();

 private:
  bool wait_sessions(std::chrono::steady_clock::time_point deadline);
  void close_sessions(bool force);

  const ServerOptions options_;
  const Routes routes_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> num_admitted_{0};
  bool stopped_ = false;  // guarded by stop_mu_

  std::mutex stop_mu_;
  mutable std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  uint64_t next_session_id_ = 1;
  std::unordered_map<uint64_t, std::function<void(bool)>> sessions_;
};

// Runs one admitted connection to its end on the socket's strand (http_session.cpp).
void spawn_session(Server::Impl& server, boost::asio::ip::tcp::socket socket);
// Answers a connection over the cap with 503 (Retry-After) and closes it.
void refuse_connection(Server::Impl& server, boost::asio::ip::tcp::socket socket);

}  // namespace pdserve::server
