// TcpOutbound: the sending end of a connection to one peer. Runs on the
// agent's io thread; callers hand it work through post(). start() runs the
// handshake (tcp_wire.h, peer_auth.h): the peer must prove the cluster token too. Transfers are
// written in order, chunk by chunk (header + bytes straight from the region,
// device regions through a bounce buffer), then their NOTIFY; the transfer
// completes when the peer's ACK arrives, a part (agent.h: an empty
// notification, not answered) once its NOTIFY is written. Cancel requests and injected faults
// take effect at the next chunk boundary (an ABORT frame tells the peer).
// Any socket error fails every queued and unacknowledged transfer with
// kUnavailable at once, and later posts fail the same way.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "kvtransfer/agent.h"
#include "kvtransfer/asio.h"
#include "kvtransfer/tcp_shared.h"
#include "kvtransfer/tcp_wire.h"

namespace pdserve::kvtransfer::tcp {

struct OutboundJob {
  uint64_t transfer_id = 0;
  std::vector<WriteOp> ops;
  std::vector<RegionPin> pins;  // one per op, released once its bytes are written
  std::string notification;
  uint64_t epoch = 0;
  int64_t fail_idx = -1;  // fault injector: op that fails the transfer
  size_t op_idx = 0;
  uint64_t op_done = 0;  // bytes of ops[op_idx] written
};

class TcpOutbound : public std::enable_shared_from_this<TcpOutbound> {
 public:
  TcpOutbound(boost::asio::io_context& io, const AgentState& agent, std::string peer_name);

  // Connects and handshakes; `done` runs on the io thread exactly once.
  void start(const boost::asio::ip::tcp::endpoint& endpoint, std::chrono::milliseconds timeout,
             std::function<void(Status)> done);
  void enqueue(std::unique_ptr<OutboundJob> job);  // io thread
  void kick();                                     // io thread: re-check cancel requests
  void fail_all(const Status& status);             // io thread
  bool dead() const { return dead_; }

 private:
  void handshake_step(FrameType type, std::string payload,
                      const std::function<void(Status)>& finish);
  void on_handshake_frame(FrameType sent, const std::string& msg,
                          const std::function<void(Status)>& finish);
  void read_ack();
  void pump();
  void write_chunk(OutboundJob& job);
  // `then(written)` runs when the write ended, before a failure fails the rest.
  void write_control(std::string frame, const std::function<void(bool)>& then);
  void finish_front(const Status& status, bool send_abort);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  AgentState agent_;
  std::string peer_name_;
  FrameHeader in_;
  FrameHeader out_;
  std::string control_;
  std::string nonce_;  // ours, for the handshake
  std::vector<char> bounce_;
  std::deque<std::unique_ptr<OutboundJob>> queue_;
  std::unordered_set<uint64_t> awaiting_ack_;
  bool writing_ = false;
  bool dead_ = false;
  Status dead_status_;
};

}  // namespace pdserve::kvtransfer::tcp
