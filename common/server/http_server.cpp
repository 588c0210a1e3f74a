#include "common/server/http_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "common/base/logging.h"
#include "common/server/server_impl.h"

namespace pdserve::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

asio::awaitable<void> accept_loop(Server::Impl* server, asio::io_context* ioc,
                                  tcp::acceptor* acceptor) {
  for (;;) {
    tcp::socket socket(asio::make_strand(*ioc));  // each connection on its own strand
    boost::system::error_code ec;
    co_await acceptor->async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (server->stopping() || !acceptor->is_open()) co_return;
    if (ec) {
      // Out of descriptors or a transient network error: back off, keep serving.
      PD_LOG(WARN) << "accept failed: " << ec.message();
      asio::steady_timer backoff(acceptor->get_executor(), std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (!server->admit_connection()) {
      refuse_connection(*server, std::move(socket));
      continue;
    }
    spawn_session(*server, std::move(socket));
  }
}

}  // namespace

Server::Impl::Impl(ServerOptions options, Routes routes)
    : options_(std::move(options)),
      routes_(std::move(routes)),
      ioc_(options_.num_io_threads),
      work_(ioc_.get_executor()),
      acceptor_(asio::make_strand(ioc_)) {}

Status Server::Impl::listen() {
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(options_.address, ec);
  if (ec) return invalid_argument("bad listen address '" + options_.address + "': " + ec.message());
  tcp::endpoint endpoint(address, options_.port);
  std::string where = options_.address + ":" + std::to_string(options_.port);
  if (acceptor_.open(endpoint.protocol(), ec); ec) {
    return unavailable("open " + where + ": " + ec.message());
  }
  if (acceptor_.set_option(tcp::acceptor::reuse_address(true), ec); ec) {
    return unavailable("SO_REUSEADDR " + where + ": " + ec.message());
  }
  if (acceptor_.bind(endpoint, ec); ec) return unavailable("bind " + where + ": " + ec.message());
  if (acceptor_.listen(options_.listen_backlog, ec); ec) {
    return unavailable("listen " + where + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint(ec).port();
  if (ec) return unavailable("local_endpoint " + where + ": " + ec.message());
  return ok_status();
}

void Server::Impl::run_threads() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(this, &ioc_, &acceptor_), asio::detached);
  for (int i = 0; i < options_.num_io_threads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {  // a bug in a completion handler
          PD_LOG(ERROR) << "exception escaped to the io loop: " << e.what();
        }
      }
    });
  }
}

size_t Server::Impl::num_connections() const {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  return sessions_.size();
}

bool Server::Impl::admit_connection() {
  size_t open = num_admitted_.load();
  while (open < static_cast<size_t>(options_.max_connections)) {
    if (num_admitted_.compare_exchange_weak(open, open + 1)) return true;
  }
  return false;
}

void Server::Impl::connection_closed() {
  num_admitted_.fetch_sub(1);
}

uint64_t Server::Impl::add_session(std::function<void(bool)> close) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  uint64_t id = next_session_id_++;
  sessions_.emplace(id, std::move(close));
  return id;
}

void Server::Impl::remove_session(uint64_t id) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  sessions_.erase(id);
  sessions_cv_.notify_all();
}

void Server::Impl::close_sessions(bool force) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  for (auto& [id, close] : sessions_) close(force);
}

bool Server::Impl::wait_sessions(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(sessions_mu_);
  return sessions_cv_.wait_until(lock, deadline, [&] { return sessions_.empty(); });
}

void Server::Impl::stop(std::chrono::milliseconds grace) {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  close_sessions(/*force=*/false);
  auto now = std::chrono::steady_clock::now();
  if (!wait_sessions(now + grace)) {
    PD_LOG(WARN) << "stopping server on port " << port_ << ": cutting " << num_connections()
                 << " connection(s) still busy after the grace period";
    close_sessions(/*force=*/true);
    if (!wait_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(2))) {
      PD_LOG(ERROR) << "connections did not end after being cut; stopping the io loop";
      ioc_.stop();
    }
  }
  work_.reset();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, Routes routes) {
  if (options.num_io_threads < 1) return invalid_argument("num_io_threads must be >= 1");
  if (options.max_body_bytes == 0 || options.max_header_bytes == 0) {
    return invalid_argument("body and header limits must be > 0");
  }
  if (options.max_header_bytes > kMaxHeaderBytes) {
    return invalid_argument("max_header_bytes must be <= " + std::to_string(kMaxHeaderBytes));
  }
  if (options.max_connections < 1) return invalid_argument("max_connections must be >= 1");
  try {
    auto impl = std::make_unique<Impl>(std::move(options), std::move(routes));
    PD_RETURN_IF_ERROR(impl->listen());
    impl->run_threads();
    return std::unique_ptr<Server>(new Server(std::move(impl)));
  } catch (const std::exception& e) {  // thread creation, allocation
    return internal_error(std::string("server start: ") + e.what());
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  impl_->stop(std::chrono::milliseconds(0));
}

uint16_t Server::port() const {
  return impl_->port();
}

size_t Server::num_connections() const {
  return impl_->num_connections();
}

void Server::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}

}  // namespace pdserve::server
