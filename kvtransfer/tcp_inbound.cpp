#include "kvtransfer/tcp_inbound.h"

#include "common/base/logging.h"
#include "kvtransfer/device_copy.h"

namespace pdserve::kvtransfer::tcp {

namespace asio = boost::asio;
using boost::system::error_code;

TcpInbound::TcpInbound(asio::ip::tcp::socket socket, const AgentState& agent)
    : socket_(std::move(socket)), agent_(agent) {}

void TcpInbound::start() {
  error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  read_header();
}

void TcpInbound::close() {
  if (closed_) return;
  closed_ = true;
  end_data();
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
  if (h.magic != kMagic || (!hello_done_ && type != FrameType::kHello)) {
    PD_LOG(WARN) << "kvtransfer tcp " << agent_.name << ": bad frame, closing connection";
    return close();
  }
  switch (type) {
    case FrameType::kHello:
      if (h.len > kMaxControlLen) return close();
      return read_payload(h.len, &TcpInbound::on_hello);
    case FrameType::kData:
      if (h.len == 0 || h.len > kMaxChunkLen) return close();
      return on_data();
    case FrameType::kNotify:
      if (h.len > kMaxControlLen) return close();
      return read_payload(h.len, &TcpInbound::on_notify);
    case FrameType::kAbort: refused_.erase(h.transfer_id); return read_header();
    default:
      PD_LOG(WARN) << "kvtransfer tcp " << agent_.name << ": unexpected frame " << h.type;
      return close();
  }
}

// By value: it is a read_payload continuation, like on_notify.
void TcpInbound::on_hello(std::string payload) {  // NOLINT(performance-unnecessary-value-param)
  size_t sep = payload.find('\0');
  std::string name = payload.substr(0, sep);
  std::string compat = sep == std::string::npos ? "" : payload.substr(sep + 1);
  peer_name_ = name;
  if (compat != agent_.compat_key) {
    std::string msg =
        "compat_key mismatch: peer '" + compat + "', ours '" + agent_.compat_key + "'";
    send(control_frame(make_header(FrameType::kHelloRefused, 0, 0), msg), /*close_after=*/true);
    return;
  }
  hello_done_ = true;
  send(control_frame(make_header(FrameType::kHelloOk, 0, 0), agent_.name));
  read_header();
}

void TcpInbound::on_data() {
  const FrameHeader h = header_;
  if (refused_.count(h.transfer_id) != 0) return discard(h.len);
  if (agent_.notifications->is_fenced(h.epoch)) {
    refused_[h.transfer_id] =
        aborted("epoch " + std::to_string(h.epoch) + " is fenced by the receiver");
    return discard(h.len);
  }
  Result<RegionPin> pin = agent_.regions->pin(h.region, h.offset, h.len, kInboundPin);
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

void TcpInbound::on_notify(std::string payload) {
  const FrameHeader h = header_;
  Status status;
  if (auto it = refused_.find(h.transfer_id); it != refused_.end()) {
    status = it->second;
    refused_.erase(it);
  } else if (!agent_.notifications->push({peer_name_, h.epoch, std::move(payload)})) {
    status = aborted("epoch " + std::to_string(h.epoch) + " is fenced by the receiver");
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
