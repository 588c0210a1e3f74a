// tcp backend (Boost.Asio): every agent listens; a sender opens one
// connection per peer and streams DATA frames (header + bytes) per op chunk,
// then NOTIFY; the receiver validates region, bounds and epoch before any
// byte lands and ACKs after delivering the notification (tcp_wire.h). One io
// thread per agent runs every socket operation.
#include <future>
#include <map>
#include <thread>

#include "common/base/logging.h"
#include "kvtransfer/agent_core.h"
#include "kvtransfer/backends.h"
#include "kvtransfer/tcp_inbound.h"
#include "kvtransfer/tcp_outbound.h"

namespace pdserve::kvtransfer {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

// "host" or "host:port"; IPv6 as "[addr]" or "[addr]:port".
Result<asio::ip::tcp::endpoint> parse_endpoint(const std::string& address, bool allow_no_port) {
  std::string host = address;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos) return invalid_argument("address '" + address + "': bad IPv6");
    host = address.substr(1, close - 1);
    if (close + 1 < address.size()) {
      if (address[close + 1] != ':') return invalid_argument("address '" + address + "': bad port");
      port = address.substr(close + 2);
    }
  } else if (size_t colon = address.find(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (port.empty()) {
    if (!allow_no_port) return invalid_argument("address '" + address + "' has no port");
    port = "0";
  }
  error_code ec;
  asio::ip::address ip = asio::ip::make_address(host, ec);
  if (ec) return invalid_argument("address '" + address + "': not an IP address");
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (*end != '\0' || p < 0 || p > 65535) {
    return invalid_argument("address '" + address + "': bad port");
  }
  return asio::ip::tcp::endpoint(ip, static_cast<uint16_t>(p));
}

class TcpAgent final : public AgentCore {
 public:
  explicit TcpAgent(const AgentOptions& options)
      : AgentCore(options), acceptor_(io_), work_(asio::make_work_guard(io_)) {
    state_ = {options_.name, options_.compat_key, options_.cluster_token, &regions_, &transfers_,
              &inbound_,     &bytes_sent_,        &bytes_received_,       &inflight_};
  }

  ~TcpAgent() override {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      error_code ec;
      acceptor_.close(ec);
      for (auto& weak : sessions_) {
        if (auto s = weak.lock()) s->close();
      }
      std::lock_guard lock(mu_);
      for (auto& [id, peer] : peers_) peer.conn->fail_all(cancelled("agent shut down"));
      io_.stop();
    });
    thread_.join();
  }

  Status start() {
    PD_ASSIGN_OR_RETURN(asio::ip::tcp::endpoint ep, parse_endpoint(options_.listen_address, true));
    error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return unavailable("tcp listen on " + options_.listen_address + ": " + ec.message());
    auto local = acceptor_.local_endpoint();
    address_ = local.address().to_string() + ":" + std::to_string(local.port());
    if (local.address().is_v6())
      address_ = "[" + local.address().to_string() + "]:" + std::to_string(local.port());
    accept();
    thread_ = std::thread([this] { io_.run(); });
    return ok_status();
  }

  std::string metadata() const override {
    AgentMetadata md;
    md.backend = BackendKind::kTcp;
    md.name = options_.name;
    md.compat_key = options_.compat_key;
    md.address = address_;
    md.regions = regions_.describe();
    return md.serialize();
  }

  Result<uint64_t> connect(std::string_view peer_metadata) override {
    PD_ASSIGN_OR_RETURN(AgentMetadata md, AgentMetadata::parse(peer_metadata));
    PD_RETURN_IF_ERROR(check_compatible(md, BackendKind::kTcp, options_.compat_key));
    PD_ASSIGN_OR_RETURN(asio::ip::tcp::endpoint ep, parse_endpoint(md.address, false));
    {
      std::lock_guard lock(mu_);
      for (auto& [id, peer] : peers_) {
        if (peer.name == md.name && peer.address == md.address && !peer.conn->dead()) {
          peer.regions = index_regions(md.regions);
          return id;
        }
      }
    }
    auto conn = std::make_shared<tcp::TcpOutbound>(io_, state_, md.name);
    auto done = std::make_shared<std::promise<Status>>();
    std::future<Status> result = done->get_future();
    auto timeout = options_.connect_timeout;
    asio::post(io_, [conn, ep, timeout, done] {
      conn->start(ep, timeout, [done](Status s) { done->set_value(std::move(s)); });
    });
    if (result.wait_for(timeout + std::chrono::seconds(1)) != std::future_status::ready) {
      return deadline_exceeded("connect to '" + md.name + "' timed out");
    }
    PD_RETURN_IF_ERROR(result.get());
    std::lock_guard lock(mu_);
    uint64_t id = next_peer_id_++;
    peers_[id] = Peer{md.name, md.address, index_regions(md.regions), conn};
    return id;
  }

  Result<uint64_t> post_write(uint64_t peer_id, std::vector<WriteOp> ops, std::string notification,
                              uint64_t epoch) override {
    std::shared_ptr<tcp::TcpOutbound> conn;
    {
      std::lock_guard lock(mu_);
      auto it = peers_.find(peer_id);
      if (it == peers_.end()) return not_found("peer " + std::to_string(peer_id) + " is unknown");
      PD_RETURN_IF_ERROR(check_ops(ops, it->second.regions, notification));
      conn = it->second.conn;
    }
    if (conn->dead())
      return unavailable("connection to peer " + std::to_string(peer_id) + " is dead");
    auto job = std::make_unique<tcp::OutboundJob>();
    job->transfer_id = transfers_.create(peer_id);
    PD_ASSIGN_OR_RETURN(PreparedOps prepared, prepare_ops(std::move(ops), job->transfer_id));
    job->fail_idx = prepared.fail_idx;
    job->pins = std::move(prepared.pins);
    ops = std::move(prepared.ops);
    job->ops = std::move(ops);
    job->notification = std::move(notification);
    job->epoch = epoch;
    uint64_t id = job->transfer_id;
    asio::post(io_, [conn, job = std::move(job)]() mutable { conn->enqueue(std::move(job)); });
    return id;
  }

  void fence_epoch(uint64_t epoch) override {
    AgentCore::fence_epoch(epoch);
    if (!inflight_.wait_out(epoch, std::chrono::seconds(2))) {
      PD_LOG(WARN) << "kvtransfer tcp " << options_.name << ": a write of fenced epoch " << epoch
                   << " still in flight after 2 s";
    }
  }

 protected:
  void on_cancel(uint64_t) override {
    std::vector<std::shared_ptr<tcp::TcpOutbound>> conns;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, peer] : peers_) conns.push_back(peer.conn);
    }
    asio::post(io_, [conns] {
      for (auto& c : conns) c->kick();
    });
  }

 private:
  struct Peer {
    std::string name;
    std::string address;
    RemoteRegions regions;
    std::shared_ptr<tcp::TcpOutbound> conn;
  };

  void accept() {
    acceptor_.async_accept([this](const error_code& ec, asio::ip::tcp::socket socket) {
      if (ec) return;  // closed
      auto session = std::make_shared<tcp::TcpInbound>(std::move(socket), state_);
      std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
      sessions_.push_back(session);
      session->start();
      accept();
    });
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::string address_;
  InflightEpochs inflight_;
  tcp::AgentState state_;
  std::vector<std::weak_ptr<tcp::TcpInbound>> sessions_;  // io thread only
  std::mutex mu_;
  std::map<uint64_t, Peer> peers_;
  uint64_t next_peer_id_ = 1;
};

}  // namespace

Result<std::unique_ptr<Agent>> create_tcp_agent(const AgentOptions& options) {
  auto agent = std::make_unique<TcpAgent>(options);
  PD_RETURN_IF_ERROR(agent->start());
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace pdserve::kvtransfer
