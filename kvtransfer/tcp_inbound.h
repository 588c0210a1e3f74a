// TcpInbound: the receiving end of one sender's connection. Runs entirely on
// the agent's io thread: authenticates the sender (peer_auth.h, bounded by
// kHandshakeTimeout), reads frames, validates each DATA frame (fenced epoch,
// grants, region, bounds) and reads its bytes straight into the region (device
// regions through a bounce buffer), delivers NOTIFY into the agent's queue
// and answers with an ACK; a part's NOTIFY (agent.h: empty) gets none, and
// what refused the part fails the epoch's last write instead (PartRefusals). A connection error
// just ends the session: the sender's transfers in flight never get their notification here. A
// sender that fails authentication or breaks the InboundPolicy is dropped and counted.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kvtransfer/asio.h"
#include "kvtransfer/part_refusals.h"
#include "kvtransfer/tcp_shared.h"
#include "kvtransfer/tcp_wire.h"

namespace pdserve::kvtransfer::tcp {

class TcpInbound : public std::enable_shared_from_this<TcpInbound> {
 public:
  TcpInbound(boost::asio::ip::tcp::socket socket, const AgentState& agent);
  void start();
  void close();

 private:
  void read_header();
  void on_header();
  void on_hello(std::string payload);
  void on_auth(std::string payload);
  void refuse(const Status& why, std::string_view message);
  void on_data();
  void on_notify(std::string payload);
  void read_payload(size_t len, void (TcpInbound::*then)(std::string));
  void discard(uint64_t len);
  void send(std::string frame, bool close_after = false);
  void write_next();
  void end_data();
  bool pin_active() const { return inflight_epoch_.has_value(); }
  void fail(const char* what, const boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  AgentState agent_;
  boost::asio::steady_timer handshake_timer_;
  const uint64_t conn_id_;  // who the grants see
  FrameHeader header_;
  enum class Stage { kHello, kAuth, kReady } stage_ = Stage::kHello;
  std::string peer_name_;
  std::string sender_nonce_;
  std::string receiver_nonce_;
  RegionPin pin_;                                 // held while a DATA frame is read into the region
  std::optional<uint64_t> inflight_epoch_;        // set while pin_ is held
  std::vector<char> scratch_;                     // discarded bytes, device bounce
  std::unordered_map<uint64_t, Status> refused_;  // transfer id -> why its ACK fails
  PartRefusals parts_;
  std::deque<std::pair<std::string, bool>> out_;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace pdserve::kvtransfer::tcp
