// UcxAgent, am protocol: one DATA active message per op (sender side), and
// the receiver that checks each op and receives it into its region, counting
// landed ops per assembly (see ucx_internal.h).
#include <algorithm>
#include <cstring>

#include "kvtransfer/device_copy.h"
#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {

void UcxAgent::drive_am(UcxJob& job) {
  size_t sent = 0;
  while (job.stop.ok() && job.next_op < job.ops.size() && sent < kPutBatch &&
         job.inflight < kMaxInflightOps) {
    const size_t i = job.next_op;
    if (job.stage_offset == 0 && static_cast<int64_t>(i) == job.fail_idx) {
      job.stop = injected_fault(i);
      break;
    }
    const WriteOp& op = job.ops[i];
    const RegionPin& pin = job.pins[i];
    const auto remote = job.peer->regions.find(op.remote_region);
    if (remote == job.peer->regions.end()) {
      job.stop = not_found("remote region " + std::to_string(op.remote_region) +
                           " is no longer in the metadata of '" + job.peer->name + "'");
      break;
    }
    const bool local_staged = staged(pin.region().kind);
    if (!local_staged && !remote->second.rkey.empty()) {  // straight from the region
      send_data(job, op.remote_region, op.remote_offset, op.len, pin.data(), nullptr, false);
      ++job.next_op;
      ++sent;
      continue;
    }
    // Staged here or there: one chunk per message.
    if (job.peer->chunked_inflight >= kStageBuffers) break;
    const uint64_t len = std::min<uint64_t>(stage_chunk_, op.len - job.stage_offset);
    const char* src = pin.data() + job.stage_offset;
    char* buffer = nullptr;
    if (local_staged) {
      UcxPeer& peer = *job.peer;
      if (!peer.send_stage)
        peer.send_stage = std::make_unique<StagingPool>(stage_chunk_, kStageBuffers);
      buffer = peer.send_stage->acquire();
      if (buffer == nullptr) {
        job.stop = resource_exhausted("ucx: cannot allocate a staging buffer of " +
                                      std::to_string(stage_chunk_) + " bytes");
        break;
      }
      Status copied = copy_memory(buffer, MemoryKind::kHost, src, pin.region().kind, len);
      if (!copied.ok()) {
        peer.send_stage->release(buffer);
        job.stop = copied.with_context("ucx staging");
        break;
      }
      src = buffer;
    }
    send_data(job, op.remote_region, op.remote_offset + job.stage_offset, len, src, buffer, true);
    ++sent;
    job.stage_offset += len;
    if (job.stage_offset == op.len) {
      job.stage_offset = 0;
      ++job.next_op;
    }
  }
  if (job.inflight != 0) return;
  if (job.stop.ok() && job.next_op < job.ops.size()) return;
  job.pins.clear();  // nothing reads local memory any more
  if (job.stop.ok()) return send_notify(job, job.messages);
  if (job.messages > 0) send_abort(job, job.messages);
  finish(job.id, job.stop);
}

void UcxAgent::send_abort(UcxJob& job, uint64_t messages) {
  if (job.peer->dead) return;
  // `len` carries the number of DATA messages sent: an eager one may still
  // be on its way, so the receiver keeps the assembly until they landed.
  const DataHeader h{job.peer->session, job.id, 0, 0, messages, job.epoch};
  send_to_peer(*job.peer, kAbortAm, std::string(reinterpret_cast<const char*>(&h), sizeof(h)),
               false, "abort");
}

void UcxAgent::send_data(UcxJob& job, uint64_t region, uint64_t offset, uint64_t len,
                         const char* src, char* stage, bool chunked) {
  auto* send = new DataSend{this,
                            job.id,
                            {job.peer->session, job.id, region, offset, len, job.epoch},
                            stage,
                            chunked ? job.peer : nullptr};
  ucp_request_param_t p{};
  p.op_attr_mask =
      UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS;
  p.flags = len <= eager_max_ ? UCP_AM_SEND_FLAG_EAGER : 0;
  p.user_data = send;
  p.cb.send = [](void* request, ucs_status_t status, void* user_data) {
    auto* s = static_cast<DataSend*>(user_data);
    s->agent->on_data_sent(*s, status);
    delete s;
    ucp_request_free(request);
  };
  ucs_status_ptr_t req =
      ucp_am_send_nbx(job.peer->ep, kDataAm, &send->header, sizeof(DataHeader), src, len, &p);
  ++job.messages;
  bytes_sent_ += len;
  job.progressed_at = std::chrono::steady_clock::now();
  if (UCS_PTR_IS_PTR(req)) {
    ++job.inflight;
    if (chunked) ++job.peer->chunked_inflight;
    return;
  }
  if (stage != nullptr) job.peer->send_stage->release(stage);
  delete send;
  if (UCS_PTR_IS_ERR(req)) job.stop = ucx_error("ucp_am_send_nbx", UCS_PTR_STATUS(req));
}

void UcxAgent::on_data_sent(const DataSend& send, ucs_status_t status) {
  if (send.stage != nullptr) send.chunked->send_stage->release(send.stage);
  if (send.chunked != nullptr) --send.chunked->chunked_inflight;
  auto it = jobs_.find(send.job_id);
  if (it == jobs_.end()) return;
  UcxJob& job = *it->second;
  --job.inflight;
  job.progressed_at = std::chrono::steady_clock::now();
  // CANCELED: the receiver refused the op; its ACK will say why.
  if (status != UCS_OK && status != UCS_ERR_CANCELED && job.stop.ok()) {
    job.stop = ucx_error("data to '" + job.peer->name + "'", status);
  }
}

void UcxAgent::on_landed(uint64_t session_id, uint64_t transfer_id, const Status& status) {
  auto key = std::make_pair(session_id, transfer_id);
  if (closed_.count(session_id) != 0) {  // its NOTIFY is refused on arrival
    assemblies_.erase(key);
    return;
  }
  Assembly& a = assemblies_[key];
  ++a.landed;
  if (!status.ok() && a.refused.ok()) a.refused = status;
  if (a.aborted) {
    if (a.landed >= a.expected) assemblies_.erase(key);
    return;
  }
  deliver(key);
}

ucs_status_t UcxAgent::on_data_am(void* arg, const void* header, size_t header_len, void* data,
                                  size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(DataHeader)) return UCS_OK;
  DataHeader h;
  std::memcpy(&h, header, sizeof(h));
  const Status closed = self->closed_status(h.session.id);
  if (Status auth = self->check_session(h.session); !auth.ok() && closed.ok()) {
    // A stamp this receiver never issued: nothing of the message is received
    // or kept (a rendezvous sender's request is left to hang).
    self->ban(h.session.id, auth);
    return UCS_OK;
  }
  bool rndv = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
  Status refused;
  Result<RegionPin> pin = Status(StatusCode::kInternal, "unset");
  if (h.len != len) {
    refused = data_loss("data message length does not match its header");
  } else if (!closed.ok()) {
    refused = closed;
  } else {
    refused = self->inbound_.check_write(h.session.id, h.epoch, h.region, h.offset, h.len);
    if (InboundPolicy::is_offence(refused)) self->ban(h.session.id, refused);
  }
  if (refused.ok()) {
    pin = self->regions_.pin(h.region, h.offset, h.len, kInboundPinId);
    if (!pin.ok()) refused = pin.status().with_context("receiver");
  }
  if (!refused.ok() && !rndv) {
    self->on_landed(h.session.id, h.transfer_id, refused);
    return UCS_OK;
  }
  if (!rndv) {  // eager: the data is in UCX's host buffers
    Status copied = copy_memory(pin->data(), pin->region().kind, data, MemoryKind::kHost, len);
    pin->release();
    self->on_landed(h.session.id, h.transfer_id, copied.with_context("receiver"));
    return UCS_OK;
  }
  // Rendezvous: receive straight into the region (staged: into a staging
  // buffer, then copied in), or into scratch when refused (UCX 1.13 leaves
  // the sender's request hanging if the data is merely released).
  struct RecvCtx {
    UcxAgent* agent;
    uint64_t session_id;
    uint64_t transfer_id;
    Status refused;
    RegionPin pin;
    std::vector<char> scratch;
    char* stage = nullptr;  // from recv_stage_
    bool staged = false;    // copy the received bytes into pin
    size_t len = 0;
    // The bytes received when staged: the pool buffer or the scratch.
    const char* received() const { return stage != nullptr ? stage : scratch.data(); }
    Status finish(ucs_status_t status) {
      Status s =
          !refused.ok()      ? refused
          : status != UCS_OK ? ucx_error("receive", status)
          : staged ? copy_memory(pin.data(), pin.region().kind, received(), MemoryKind::kHost, len)
                         .with_context("receiver staging")
                   : ok_status();
      pin.release();
      if (stage != nullptr) agent->recv_stage_->release(stage);
      return s;
    }
  };
  auto* ctx = new RecvCtx{self, h.session.id, h.transfer_id, refused, {}, {}};
  ctx->len = len;
  void* dst = nullptr;
  if (refused.ok()) {
    ctx->pin = std::move(pin).value();
    ctx->staged = self->staged(ctx->pin.region().kind);
    if (!ctx->staged) {
      dst = ctx->pin.data();
    } else if (len <= self->recv_stage_->chunk_len()) {
      ctx->stage = self->recv_stage_->acquire();
      dst = ctx->stage;
    }
  }
  if (dst == nullptr) {  // refused, or staged with every staging buffer busy
    ctx->scratch.resize(len);
    dst = ctx->scratch.data();
  }
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.user_data = ctx;
  p.cb.recv_am = [](void* request, ucs_status_t status, size_t, void* user_data) {
    auto* c = static_cast<RecvCtx*>(user_data);
    --c->agent->receiving_;
    Status s = c->finish(status);
    c->agent->on_landed(c->session_id, c->transfer_id, s);
    delete c;
    ucp_request_free(request);
  };
  ++self->receiving_;
  ucs_status_ptr_t req = ucp_am_recv_data_nbx(self->worker_, data, dst, len, &p);
  if (!UCS_PTR_IS_PTR(req)) {
    --self->receiving_;
    Status s = ctx->finish(UCS_PTR_STATUS(req));
    self->on_landed(h.session.id, h.transfer_id, s);
    delete ctx;
  }
  return UCS_OK;
}

ucs_status_t UcxAgent::on_abort_am(void* arg, const void* header, size_t header_len, void*, size_t,
                                   const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(DataHeader)) return UCS_OK;
  DataHeader h;
  std::memcpy(&h, header, sizeof(h));
  if (!self->check_session(h.session).ok()) return UCS_OK;
  const auto key = std::make_pair(h.session.id, h.transfer_id);
  self->plans_.drop(key);         // put protocol: its pins go
  if (h.len == 0) return UCS_OK;  // no DATA was sent (put)
  Assembly& a = self->assemblies_[key];
  a.aborted = true;
  a.expected = h.len;  // DATA messages the sender sent
  if (a.landed >= a.expected) self->assemblies_.erase(key);
  return UCS_OK;
}

}  // namespace pdserve::kvtransfer::ucx
