#include "kvtransfer/tcp_outbound.h"

#include "common/base/logging.h"
#include "kvtransfer/agent_core.h"
#include "kvtransfer/device_copy.h"
#include "kvtransfer/peer_auth.h"

namespace pdserve::kvtransfer::tcp {

namespace asio = boost::asio;
using boost::system::error_code;

TcpOutbound::TcpOutbound(asio::io_context& io, const AgentState& agent, std::string peer_name)
    : io_(io), socket_(io), timer_(io), agent_(agent), peer_name_(std::move(peer_name)) {}

void TcpOutbound::start(const asio::ip::tcp::endpoint& endpoint, std::chrono::milliseconds timeout,
                        std::function<void(Status)> done) {
  auto self = shared_from_this();
  auto once = std::make_shared<std::function<void(Status)>>(std::move(done));
  auto finish = [self, once](const Status& s) {
    if (!*once) return;
    self->timer_.cancel();
    if (!s.ok()) self->fail_all(s);
    (*once)(s);
    *once = nullptr;
  };
  timer_.expires_after(timeout);
  timer_.async_wait([self, finish, timeout](const error_code& ec) {
    if (ec) return;
    finish(deadline_exceeded("connect to '" + self->peer_name_ + "' took more than " +
                             std::to_string(timeout.count()) + " ms"));
  });
  socket_.async_connect(endpoint, [self, finish](const error_code& ec) {
    if (ec) return finish(unavailable("connect to '" + self->peer_name_ + "': " + ec.message()));
    error_code ignored;
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    Result<std::string> nonce = make_nonce();
    if (!nonce.ok()) return finish(nonce.status());
    self->nonce_ = *nonce;
    self->handshake_step(FrameType::kHello, self->nonce_ + self->agent_.name, finish);
  });
}

// Sends one handshake frame and reads the answer: CHALLENGE after HELLO,
// HELLO_OK after AUTH; HELLO_REFUSED (or anything else) fails the connect.
void TcpOutbound::handshake_step(FrameType type, std::string payload,
                                 const std::function<void(Status)>& finish) {
  auto self = shared_from_this();
  control_ = control_frame(make_header(type, 0, 0), payload);
  auto lost = [self] { return unavailable("handshake with '" + self->peer_name_ + "' failed"); };
  asio::async_write(
      socket_, asio::buffer(control_), [self, finish, type, lost](const error_code& ec, size_t) {
        if (ec) return finish(lost());
        asio::async_read(self->socket_, asio::buffer(&self->in_, sizeof(self->in_)),
                         [self, finish, type, lost](const error_code& ec2, size_t) {
                           if (ec2 || self->in_.magic != kMagic || self->in_.len > kMaxControlLen) {
                             return finish(lost());
                           }
                           auto msg = std::make_shared<std::string>(self->in_.len, '\0');
                           asio::async_read(
                               self->socket_, asio::buffer(*msg),
                               [self, finish, type, msg, lost](const error_code& ec3, size_t) {
                                 if (ec3) return finish(lost());
                                 self->on_handshake_frame(type, *msg, finish);
                               });
                         });
      });
}

void TcpOutbound::on_handshake_frame(FrameType sent, const std::string& msg,
                                     const std::function<void(Status)>& finish) {
  const auto got = static_cast<FrameType>(in_.type);
  if (got == FrameType::kHelloRefused) {
    return finish(failed_precondition("peer '" + peer_name_ + "' refused: " + msg));
  }
  if (sent == FrameType::kHello && got == FrameType::kChallenge &&
      msg.size() == kNonceLen + kProofLen) {
    const std::string receiver_nonce = msg.substr(0, kNonceLen);
    if (!proofs_equal(msg.substr(kNonceLen),
                      receiver_proof(agent_.cluster_token, nonce_, receiver_nonce))) {
      return finish(unauthenticated("peer '" + peer_name_ + "' does not know the cluster token"));
    }
    return handshake_step(
        FrameType::kAuth,
        sender_proof(agent_.cluster_token, receiver_nonce, nonce_, agent_.name, agent_.compat_key) +
            agent_.compat_key,
        finish);
  }
  if (sent == FrameType::kAuth && got == FrameType::kHelloOk) {
    finish(ok_status());
    read_ack();
    return pump();
  }
  finish(unavailable("handshake with '" + peer_name_ + "': unexpected frame"));
}

void TcpOutbound::read_ack() {
  auto self = shared_from_this();
  asio::async_read(socket_, asio::buffer(&in_, sizeof(in_)), [self](const error_code& ec, size_t) {
    if (ec)
      return self->fail_all(
          unavailable("peer '" + self->peer_name_ + "' connection lost: " + ec.message()));
    if (self->in_.magic != kMagic || static_cast<FrameType>(self->in_.type) != FrameType::kAck ||
        self->in_.len > kMaxControlLen) {
      return self->fail_all(unavailable("peer '" + self->peer_name_ + "' sent a bad frame"));
    }
    auto msg = std::make_shared<std::string>(self->in_.len, '\0');
    asio::async_read(self->socket_, asio::buffer(*msg), [self, msg](const error_code& ec2, size_t) {
      if (ec2)
        return self->fail_all(
            unavailable("peer '" + self->peer_name_ + "' connection lost: " + ec2.message()));
      uint64_t id = self->in_.transfer_id;
      auto code = static_cast<StatusCode>(self->in_.region);
      self->awaiting_ack_.erase(id);
      self->agent_.transfers->complete(id,
                                       code == StatusCode::kOk ? ok_status() : Status(code, *msg));
      self->read_ack();
    });
  });
}

void TcpOutbound::enqueue(std::unique_ptr<OutboundJob> job) {
  if (dead_) {
    agent_.transfers->complete(job->transfer_id, dead_status_);
    return;
  }
  queue_.push_back(std::move(job));
  pump();
}

void TcpOutbound::kick() {
  pump();
}

void TcpOutbound::fail_all(const Status& status) {
  if (!dead_) {
    dead_ = true;
    dead_status_ = status;
    PD_LOG(DEBUG) << "kvtransfer tcp " << agent_.name << ": " << status.to_string();
  }
  timer_.cancel();
  error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (writing_) return;  // the write handler fails the front job and calls back
  for (auto& job : queue_) agent_.transfers->complete(job->transfer_id, dead_status_);
  queue_.clear();
  for (uint64_t id : awaiting_ack_) agent_.transfers->complete(id, dead_status_);
  awaiting_ack_.clear();
}

void TcpOutbound::finish_front(const Status& status, bool send_abort) {
  std::unique_ptr<OutboundJob> job = std::move(queue_.front());
  queue_.pop_front();
  job->pins.clear();
  if (!send_abort) {
    agent_.transfers->complete(job->transfer_id, status);
    return pump();
  }
  uint64_t id = job->transfer_id;
  auto self = shared_from_this();
  write_control(control_frame(make_header(FrameType::kAbort, id, 0), ""),
                [self, id, status](bool) { self->agent_.transfers->complete(id, status); });
}

void TcpOutbound::pump() {
  if (writing_) return;
  // Dead while a write was in flight (fail_all left the queue to its
  // handler): every queued and unacknowledged transfer fails now.
  if (dead_) return fail_all(dead_status_);
  if (queue_.empty() || !socket_.is_open()) return;
  OutboundJob& job = *queue_.front();
  bool started = job.op_idx > 0 || job.op_done > 0;
  if (agent_.transfers->cancel_requested(job.transfer_id)) {
    return finish_front(cancelled("transfer " + std::to_string(job.transfer_id) + " cancelled"),
                        started);
  }
  if (job.fail_idx >= 0 && job.op_idx == static_cast<size_t>(job.fail_idx) && job.op_done == 0) {
    return finish_front(injected_fault(job.op_idx), started);
  }
  if (job.op_idx < job.ops.size()) return write_chunk(job);
  FrameHeader h = make_header(FrameType::kNotify, job.transfer_id, 0);
  h.epoch = job.epoch;
  uint64_t id = job.transfer_id;
  const bool part = job.notification.empty();
  std::string frame = control_frame(h, job.notification);
  queue_.pop_front();
  awaiting_ack_.insert(id);  // a failed write fails it with the rest
  auto self = shared_from_this();
  write_control(std::move(frame), [self, id, part](bool written) {
    if (!part || !written) return;  // the ACK completes it
    self->awaiting_ack_.erase(id);
    self->agent_.transfers->complete(id, ok_status());
  });
}

void TcpOutbound::write_chunk(OutboundJob& job) {
  const WriteOp& op = job.ops[job.op_idx];
  RegionPin& pin = job.pins[job.op_idx];
  uint64_t n = std::min<uint64_t>(kChunkLen, op.len - job.op_done);
  out_ = make_header(FrameType::kData, job.transfer_id, n);
  out_.region = op.remote_region;
  out_.offset = op.remote_offset + job.op_done;
  out_.epoch = job.epoch;
  const char* src = pin.data() + job.op_done;
  if (pin.region().kind == MemoryKind::kDevice) {
    bounce_.resize(n);
    Status s = copy_memory(bounce_.data(), MemoryKind::kHost, src, MemoryKind::kDevice, n);
    if (!s.ok()) return finish_front(s, true);
    src = bounce_.data();
  }
  std::array<asio::const_buffer, 2> bufs{asio::buffer(&out_, sizeof(out_)), asio::buffer(src, n)};
  writing_ = true;
  auto self = shared_from_this();
  asio::async_write(socket_, bufs, [self, n](const error_code& ec, size_t) {
    self->writing_ = false;
    if (ec) {
      return self->fail_all(
          unavailable("peer '" + self->peer_name_ + "' connection lost: " + ec.message()));
    }
    *self->agent_.bytes_sent += n;
    OutboundJob& j = *self->queue_.front();
    j.op_done += n;
    if (j.op_done == j.ops[j.op_idx].len) {
      j.pins[j.op_idx].release();
      ++j.op_idx;
      j.op_done = 0;
    }
    self->pump();
  });
}

void TcpOutbound::write_control(std::string frame, const std::function<void(bool)>& then) {
  control_ = std::move(frame);
  writing_ = true;
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(control_), [self, then](const error_code& ec, size_t) {
    self->writing_ = false;
    then(!ec);
    if (ec) {
      return self->fail_all(
          unavailable("peer '" + self->peer_name_ + "' connection lost: " + ec.message()));
    }
    self->pump();
  });
}

}  // namespace pdserve::kvtransfer::tcp
