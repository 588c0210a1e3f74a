// UcxAgent, both protocols: NOTIFY (send, receive, deliver once an assembly
// is complete) and ACK (send, receive → the transfer completes); the
// sending of control messages that await an answer (NOTIFY, put's PLAN).
#include <cstring>

#include "common/base/logging.h"
#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {

void UcxAgent::send_notify(UcxJob& job, uint64_t num_ops) {
  job.phase = UcxJob::Phase::kNotifying;
  uint64_t bytes = 0;
  for (const WriteOp& op : job.ops) bytes += op.len;
  job.header = {job.peer->session,
                job.id,
                job.epoch,
                bytes,
                num_ops,
                static_cast<uint32_t>(options_.name.size()),
                static_cast<uint32_t>(job.notification.size())};
  job.am_data = options_.name + job.notification;
  send_control(job, kNotifyAm, &job.header, sizeof(job.header), UcxJob::Phase::kAwaitingAck);
}

void UcxAgent::send_control(UcxJob& job, unsigned am_id, const void* header, size_t header_len,
                            UcxJob::Phase awaiting) {
  // The callback needs the agent, the transfer id and what was sent.
  struct ControlCtx {
    UcxAgent* agent;
    uint64_t id;
    unsigned am_id;
  };
  auto* ctx = new ControlCtx{this, job.id, am_id};
  ucp_request_param_t p{};
  p.op_attr_mask =
      UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.flags = UCP_AM_SEND_FLAG_REPLY | UCP_AM_SEND_FLAG_EAGER;
  p.user_data = ctx;
  p.cb.send = [](void* request, ucs_status_t status, void* user_data) {
    auto* c = static_cast<ControlCtx*>(user_data);
    c->agent->on_control_sent(c->id, c->am_id, status);
    delete c;
    ucp_request_free(request);
  };
  job.phase = awaiting;
  job.notified_at = std::chrono::steady_clock::now();
  // Header and data (job.am_data) live in the job until the answer.
  ucs_status_ptr_t req = ucp_am_send_nbx(job.peer->ep, am_id, header, header_len,
                                         job.am_data.data(), job.am_data.size(), &p);
  if (UCS_PTR_IS_PTR(req)) return;
  delete ctx;
  on_control_sent(job.id, am_id, UCS_PTR_STATUS(req));
}

void UcxAgent::on_control_sent(uint64_t id, unsigned am_id, ucs_status_t status) {
  if (status == UCS_OK) return;  // the answer completes (or goes on with) the transfer
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  const char* what = am_id == kPlanAm ? "plan" : "notification";
  UcxPeer& peer = *it->second->peer;
  mark_broken(peer, ucx_error(std::string(what) + " to '" + peer.name + "'", status));
}

ucs_status_t UcxAgent::on_notify_am(void* arg, const void* header, size_t header_len, void* data,
                                    size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(NotifyHeader) || (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0) {
    PD_LOG(WARN) << "kvtransfer ucx " << self->options_.name << ": malformed notification dropped";
    return UCS_OK;
  }
  NotifyHeader h;
  std::memcpy(&h, header, sizeof(h));
  if (static_cast<uint64_t>(h.name_len) + h.payload_len != len) return UCS_OK;
  const char* p = static_cast<const char*>(data);
  auto key = std::make_pair(h.session.id, h.transfer_id);
  const bool reply = (param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) != 0;
  if (Status closed = self->closed_status(h.session.id); !closed.ok()) {  // its assembly dropped
    self->assemblies_.erase(key);
    if (reply) self->answer_closed(kAckAm, param->reply_ep, h.session, h.transfer_id, closed);
    return UCS_OK;
  }
  if (Status auth = self->check_session(h.session); !auth.ok()) {
    self->ban(h.session.id, auth);  // a stamp never issued: nothing kept, no answer
    return UCS_OK;
  }
  Assembly& a = self->assemblies_[key];
  a.notified = true;
  a.expected = h.num_ops;
  a.note = {std::string(p, h.name_len), h.epoch, std::string(p + h.name_len, h.payload_len)};
  a.bytes = h.bytes;
  a.session = h.session;
  if (reply) a.reply_ep = param->reply_ep;
  self->deliver(key);
  return UCS_OK;
}

// Delivers the notification of an assembly once all its ops have landed.
void UcxAgent::deliver(std::pair<uint64_t, uint64_t> key) {
  auto it = assemblies_.find(key);
  if (it == assemblies_.end()) return;
  Assembly& a = it->second;
  if (!a.notified || a.landed < a.expected) return;
  Status status = a.refused;
  if (status.ok()) status = closed_status(key.first);
  if (status.ok()) status = plans_.take(key, a.note.epoch, a.bytes, a.expected);
  if (status.ok()) {
    status = inbound_.deliver(key.first, std::move(a.note));
    if (status.ok()) bytes_received_ += a.bytes;
    if (InboundPolicy::is_offence(status)) ban(key.first, status);
  }
  if (a.reply_ep != nullptr) queue_ack(kAckAm, a.reply_ep, a.session, key.second, status);
  assemblies_.erase(it);
}

void UcxAgent::ban(uint64_t session_id, const Status& why) {
  // A stamp this receiver did not issue proves nothing about the session it
  // names (a forger may name an honest sender's): counted, the session kept.
  const bool forged = why.code() == StatusCode::kUnauthenticated;
  bool first = false;
  if (forged) {
    first = forged_.size() < kMaxBanned && forged_.insert(session_id).second;
  } else {
    first = closed_.size() < kMaxBanned && closed_.count(session_id) == 0;
    drop_session(session_id);
  }
  if (first) inbound_.refuse("session " + std::to_string(session_id), why);
}

void UcxAgent::drop_session(uint64_t session_id) {
  sessions_.drop(session_id);
  if (closed_.size() < kMaxBanned) {
    closed_.emplace(session_id, permission_denied("sender was refused earlier"));
  }
}

void UcxAgent::close_session(uint64_t session_id, const Status& why) {
  sessions_.drop(session_id);
  if (closed_.size() < kMaxBanned) closed_.emplace(session_id, why);
}

Status UcxAgent::closed_status(uint64_t session_id) const {
  auto it = closed_.find(session_id);
  return it == closed_.end() ? ok_status() : it->second;
}

void UcxAgent::queue_ack(unsigned am_id, ucp_ep_h ep, const SessionStamp& session,
                         uint64_t transfer_id, const Status& status, std::string data) {
  acks_.push_back({am_id,
                   ep,
                   {session, transfer_id, static_cast<uint64_t>(status.code())},
                   status.ok() ? std::move(data) : status.message()});
}

void UcxAgent::answer_closed(unsigned am_id, ucp_ep_h ep, const SessionStamp& session,
                             uint64_t transfer_id, const Status& closed) {
  queue_ack(am_id, ep, session, transfer_id, closed);
  queue_ack(kProbeAnswerAm, ep, session, 0, closed);  // the sender breaks its peer at once
}

void UcxAgent::send_acks() {
  while (!acks_.empty()) {
    auto ack = std::make_unique<PendingAck>(std::move(acks_.front()));
    acks_.pop_front();
    ucp_request_param_t p{};
    p.op_attr_mask =
        UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.flags = UCP_AM_SEND_FLAG_EAGER;
    p.user_data = ack.get();
    p.cb.send = [](void* request, ucs_status_t status, void* user_data) {
      auto* a = static_cast<PendingAck*>(user_data);
      a->agent->on_ack_sent(*a, status);
      delete a;
      ucp_request_free(request);
    };
    ack->agent = this;
    ucs_status_ptr_t req = ucp_am_send_nbx(ack->ep, ack->am_id, &ack->header, sizeof(ack->header),
                                           ack->message.data(), ack->message.size(), &p);
    if (UCS_PTR_IS_PTR(req)) {
      PendingAck* owned_by_callback = ack.release();
      (void)owned_by_callback;
    } else {
      on_ack_sent(*ack, UCS_PTR_STATUS(req));
    }
  }
}

void UcxAgent::on_ack_sent(const PendingAck& ack, ucs_status_t status) {
  if (status == UCS_OK) return;
  // The sender cannot learn this transfer's verdict: the session is closed,
  // so its next message or probe is answered with that and it fails every
  // transfer to us at once (or, if no answer gets through, after its
  // silence deadline) and reconnects; the decode worker's own deadline (or
  // the prefill worker's error answer) ends the request cleanly.
  PD_LOG(WARN) << "kvtransfer ucx " << options_.name << ": the answer to transfer "
               << ack.header.transfer_id << " of session " << ack.header.session.id
               << " was not sent (" << ucs_status_string(status) << "): session closed";
  close_session(ack.header.session.id,
                unavailable("an answer of this receiver to the session was lost (" +
                            std::string(ucs_status_string(status)) + "); reconnect"));
}

UcxJob* UcxAgent::answered_job(const AckHeader& h) {
  auto it = jobs_.find(h.transfer_id);
  if (it == jobs_.end()) return nullptr;
  // Only the receiver of the transfer knows its session's tag.
  const SessionStamp& ours = it->second->peer->session;
  if (h.session.id != ours.id || !proofs_equal(h.session.tag_view(), ours.tag_view())) {
    inbound_.refuse("an answer for transfer " + std::to_string(h.transfer_id),
                    unauthenticated("not stamped with the transfer's session"));
    return nullptr;
  }
  it->second->peer->heard_at = std::chrono::steady_clock::now();
  return it->second.get();
}

ucs_status_t UcxAgent::on_ack_am(void* arg, const void* header, size_t header_len, void* data,
                                 size_t len, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(AckHeader)) return UCS_OK;
  AckHeader h;
  std::memcpy(&h, header, sizeof(h));
  if (self->answered_job(h) == nullptr) return UCS_OK;
  self->finish(h.transfer_id, answer_status(h, data, len));
  return UCS_OK;
}

Status answer_status(const AckHeader& h, const void* data, size_t len) {
  auto code = static_cast<StatusCode>(h.code);
  if (code == StatusCode::kOk) return ok_status();
  return Status(code, std::string(static_cast<const char*>(data), data != nullptr ? len : 0));
}

}  // namespace pdserve::kvtransfer::ucx
