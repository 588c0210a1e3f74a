// UcxAgent, both protocols: NOTIFY (send, receive, deliver once an assembly
// is complete) and ACK (send, receive → the transfer completes).
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
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  p.flags = UCP_AM_SEND_FLAG_REPLY | UCP_AM_SEND_FLAG_EAGER;
  ucs_status_ptr_t req = ucp_am_send_nbx(job.peer->ep, kNotifyAm, &job.header, sizeof(job.header),
                                         job.am_data.data(), job.am_data.size(), &p);
  if (UCS_PTR_IS_ERR(req)) return finish(job.id, ucx_error("ucp_am_send_nbx", UCS_PTR_STATUS(req)));
  if (req != nullptr) ucp_request_free(req);  // buffers live in the job until the ACK
  job.phase = UcxJob::Phase::kAwaitingAck;
  job.notified_at = std::chrono::steady_clock::now();
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
  if (self->banned_.count(h.session.id) != 0) {  // refused, its assembly dropped
    self->assemblies_.erase(key);
    if (reply) {
      self->acks_.push_back({param->reply_ep,
                             {h.transfer_id, static_cast<uint64_t>(StatusCode::kPermissionDenied)},
                             "sender was refused earlier"});
    }
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
  if (status.ok() && banned_.count(key.first) != 0) {
    status = permission_denied("sender was refused earlier");
  }
  if (status.ok()) {
    status = inbound_.deliver(key.first, std::move(a.note));
    if (status.ok()) bytes_received_ += a.bytes;
    if (InboundPolicy::is_offence(status)) ban(key.first, status);
  }
  if (a.reply_ep != nullptr) {
    acks_.push_back(
        {a.reply_ep, {key.second, static_cast<uint64_t>(status.code())}, status.message()});
  }
  assemblies_.erase(it);
}

void UcxAgent::ban(uint64_t session_id, const Status& why) {
  // A stamp this receiver did not issue proves nothing about the session it
  // names (a forger may name an honest sender's): counted, the session kept.
  const bool forged = why.code() == StatusCode::kUnauthenticated;
  std::set<uint64_t>& seen = forged ? forged_ : banned_;
  if (!forged) sessions_.drop(session_id);
  if (seen.size() < kMaxBanned && seen.insert(session_id).second) {
    inbound_.refuse("session " + std::to_string(session_id), why);
  }
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
    p.cb.send = [](void* request, ucs_status_t, void* user_data) {
      delete static_cast<PendingAck*>(user_data);
      ucp_request_free(request);
    };
    ucs_status_ptr_t req = ucp_am_send_nbx(ack->ep, kAckAm, &ack->header, sizeof(ack->header),
                                           ack->message.data(), ack->message.size(), &p);
    if (UCS_PTR_IS_PTR(req)) {
      PendingAck* owned_by_callback = ack.release();
      (void)owned_by_callback;
    }
  }
}

ucs_status_t UcxAgent::on_ack_am(void* arg, const void* header, size_t header_len, void* data,
                                 size_t len, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(AckHeader)) return UCS_OK;
  AckHeader h;
  std::memcpy(&h, header, sizeof(h));
  auto code = static_cast<StatusCode>(h.code);
  Status s = code == StatusCode::kOk
                 ? ok_status()
                 : Status(code, std::string(static_cast<const char*>(data), data ? len : 0));
  self->finish(h.transfer_id, s);
  return UCS_OK;
}

}  // namespace pdserve::kvtransfer::ucx
