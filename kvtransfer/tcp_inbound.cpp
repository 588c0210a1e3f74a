#include "kvtransfer/tcp_inbound.h"

#include <atomic>

#include "common/base/logging.h"
#include "kvtransfer/device_copy.h"
#include "kvtransfer/peer_auth.h"

namespace pdserve::kvtransfer::tcp {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
// Connection ids for the grants: never reused, unlike addresses.
std::atomic<uint64_t> next_conn_id{1};
}  // namespace

TcpInbound::TcpInbound(asio::ip::tcp::socket socket, const AgentState& agent)
    : socket_(std::move(socket)),
      agent_(agent),
      handshake_timer_(socket_.get_executor()),
      conn_id_(next_conn_id.fetch_add(1)) {}

void TcpInbound::start() {
  error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  handshake_timer_.expires_after(kHandshakeTimeout);
  auto self = shared_from_this();
  handshake_timer_.async_wait([self](const error_code& timer_ec) {
    if (timer_ec || self->stage_ == Stage::kReady) return;
    self->refuse(
        unauthenticated("no handshake within " + std::to_string(kHandshakeTimeout.count()) + " s"),
        "");
  });
  read_header();
}

// Counts the peer and drops it; `message` (never a secret or a compat key)
// goes to it in a HELLO_REFUSED first when not empty.
void TcpInbound::refuse(const Status& why, std::string_view message) {
  agent_.inbound->refuse(peer_name_.empty() ? "(unauthenticated)" : peer_name_, why);
  if (message.empty()) return close();
  send(control_frame(make_header(FrameType::kHelloRefused, 0, 0), message), /*close_after=*/true);
}

void TcpInbound::close() {
  if (closed_) return;
  closed_ = true;
  end_data();
  handshake_timer_.cancel();
  error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

void TcpInbound::end_data() {
  if (!pin_active()) return;
  pin_.release();
  agent_.inflight->remove(*inflight_epoch_);
  inflight_epoch_.reset();
}

void TcpInbound::fail(const char* what, const error_code& ec) {
  if (!closed_ && ec != asio::error::eof && ec != asio::error::operation_aborted) {
    PD_LOG(DEBUG) << "kvtransfer tcp " << agent_.name << ": " << what << " from '" << peer_name_
                  << "': " << ec.message();
  }
  close();
}

void TcpInbound::read_header() {
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(&header_, sizeof(header_)),
                   [self](const error_code& ec, size_t) {
                     if (ec) return self->fail("read", ec);
                     self->on_header();
                   });
}

void TcpInbound::read_payload(size_t len, void (TcpInbound::*then)(std::string)) {
  auto self = shared_from_this();
  auto buf = std::make_shared<std::string>(len, '\0');
  asio::async_read(socket_, asio::buffer(*buf), [self, buf, then](const error_code& ec, size_t) {
    if (ec) return self->fail("read", ec);
    ((*self).*then)(std::move(*buf));
  });
}

void TcpInbound::on_header() {
  const FrameHeader& h = header_;
  auto type = static_cast<FrameType>(h.type);
  const bool expected = stage_ == Stage::kReady
                            ? type != FrameType::kHello && type != FrameType::kAuth
                        : stage_ == Stage::kHello ? type == FrameType::kHello
                                                  : type == FrameType::kAuth;
  if (h.magic != kMagic || !expected) {
    return refuse(invalid_argument("bad or unexpected frame " + std::to_string(h.type)), "");
  }
  switch (type) {
    case FrameType::kHello:
      if (h.len < kNonceLen || h.len > kNonceLen + kMaxNameLen) {
        return refuse(invalid_argument("bad hello"), "");
      }
      return read_payload(h.len, &TcpInbound::on_hello);
    case FrameType::kAuth:
      if (h.len < kProofLen || h.len > kProofLen + kMaxCompatLen) {
        return refuse(invalid_argument("bad auth frame"), "");
      }
      return read_payload(h.len, &TcpInbound::on_auth);
    case FrameType::kData:
      if (h.len == 0 || h.len > kMaxChunkLen) return refuse(invalid_argument("bad data frame"), "");
      return on_data();
    case FrameType::kNotify:
      if (h.len > kMaxNotificationLen) {
        return refuse(
            invalid_argument("notification over " + std::to_string(kMaxNotificationLen) + " bytes"),
            "");
      }
      return read_payload(h.len, &TcpInbound::on_notify);
    case FrameType::kAbort: refused_.erase(h.transfer_id); return read_header();
    default: return refuse(invalid_argument("unexpected frame " + std::to_string(h.type)), "");
  }
}

// By value: it is a read_payload continuation, like on_notify.
void TcpInbound::on_hello(std::string payload) {  // NOLINT(performance-unnecessary-value-param)
  sender_nonce_ = payload.substr(0, kNonceLen);
  peer_name_ = payload.substr(kNonceLen);
  Result<std::string> nonce = make_nonce();
  if (!nonce.ok()) return refuse(nonce.status(), "receiver cannot make a nonce");
  receiver_nonce_ = *nonce;
  stage_ = Stage::kAuth;
  send(control_frame(
      make_header(FrameType::kChallenge, 0, 0),
      receiver_nonce_ + receiver_proof(agent_.cluster_token, sender_nonce_, receiver_nonce_)));
  read_header();
}

void TcpInbound::on_auth(std::string payload) {  // NOLINT(performance-unnecessary-value-param)
  const std::string_view proof = std::string_view(payload).substr(0, kProofLen);
  const std::string_view compat = std::string_view(payload).substr(kProofLen);
  const std::string expected =
      sender_proof(agent_.cluster_token, receiver_nonce_, sender_nonce_, peer_name_, compat);
  if (!proofs_equal(proof, expected)) {
    return refuse(unauthenticated("wrong cluster token"), "authentication failed");
  }
  if (compat != agent_.compat_key) {
    return refuse(failed_precondition("compat key mismatch"),
                  "KV layout (compat key) differs from the receiver's");
  }
  stage_ = Stage::kReady;
  handshake_timer_.cancel();
  send(control_frame(make_header(FrameType::kHelloOk, 0, 0), agent_.name));
  read_header();
}

void TcpInbound::on_data() {
  const FrameHeader h = header_;
  if (refused_.count(h.transfer_id) != 0) return discard(h.len);
  Status allowed = agent_.inbound->check_write(conn_id_, h.epoch, h.region, h.offset, h.len);
  if (InboundPolicy::is_offence(allowed)) return refuse(allowed, "");
  Result<RegionPin> pin = allowed.ok() ? agent_.regions->pin(h.region, h.offset, h.len, kInboundPin)
                                       : Result<RegionPin>(allowed);
  if (!pin.ok()) {
    refused_[h.transfer_id] = pin.status().with_context("receiver");
    return discard(h.len);
  }
  pin_ = std::move(pin).value();
  agent_.inflight->add(h.epoch);
  inflight_epoch_ = h.epoch;
  bool device = pin_.region().kind == MemoryKind::kDevice;
  if (device) scratch_.resize(h.len);
  char* dst = device ? scratch_.data() : pin_.data();
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(dst, h.len),
                   [self, device, h](const error_code& ec, size_t) {
                     if (ec) return self->fail("read", ec);
                     if (device) {
                       Status s = copy_memory(self->pin_.data(), MemoryKind::kDevice,
                                              self->scratch_.data(), MemoryKind::kHost, h.len);
                       if (!s.ok()) self->refused_[h.transfer_id] = s;
                     }
                     self->end_data();
                     *self->agent_.bytes_received += h.len;
                     self->read_header();
                   });
}

void TcpInbound::discard(uint64_t len) {
  scratch_.resize(std::min<uint64_t>(len, uint64_t{256} * 1024));
  uint64_t n = std::min<uint64_t>(len, scratch_.size());
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(scratch_.data(), n),
                   [self, len, n](const error_code& ec, size_t) {
                     if (ec) return self->fail("read", ec);
                     if (len > n) return self->discard(len - n);
                     self->read_header();
                   });
}

void TcpInbound::on_notify(std::string payload) {  // NOLINT(performance-unnecessary-value-param)
  const FrameHeader h = header_;
  const bool part = payload.empty();
  // The last write of an epoch fails with the first refusal of its parts.
  Status status = part ? ok_status() : parts_.take(h.epoch);
  if (auto it = refused_.find(h.transfer_id); it != refused_.end()) {
    if (status.ok()) status = it->second;
    refused_.erase(it);
  }
  if (status.ok()) {
    status = agent_.inbound->deliver(conn_id_, {peer_name_, h.epoch, std::move(payload)});
    if (InboundPolicy::is_offence(status)) return refuse(status, "");
  }
  if (part) {
    if (!status.ok()) {
      if (Status full = parts_.note(h.epoch, status); !full.ok()) return refuse(full, "");
    }
    return read_header();
  }
  FrameHeader ack = make_header(FrameType::kAck, h.transfer_id, 0);
  ack.region = static_cast<uint64_t>(status.code());
  send(control_frame(ack, status.message()));
  read_header();
}

void TcpInbound::send(std::string frame, bool close_after) {
  out_.emplace_back(std::move(frame), close_after);
  if (!writing_) write_next();
}

void TcpInbound::write_next() {
  if (out_.empty() || closed_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(out_.front().first),
                    [self](const error_code& ec, size_t) {
                      if (ec) return self->fail("write", ec);
                      bool close_after = self->out_.front().second;
                      self->out_.pop_front();
                      if (close_after) return self->close();
                      self->write_next();
                    });
}

}  // namespace pdserve::kvtransfer::tcp
