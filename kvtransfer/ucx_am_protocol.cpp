// UcxAgent, am protocol: one DATA active message per op (sender side), and
// the receiver that checks each op and receives it into its region, counting
// landed ops per assembly (see ucx_internal.h).
#include <algorithm>
#include <cstring>

#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {

void UcxAgent::drive_am(UcxJob& job) {
  if (job.data_headers.empty()) job.data_headers.resize(job.ops.size());
  size_t end = std::min(job.ops.size(), job.next_op + kPutBatch);
  struct SendCtx {
    UcxAgent* agent;
    uint64_t id;
  };
  while (job.stop.ok() && job.next_op < end && job.inflight < kMaxInflightOps) {
    size_t i = job.next_op;
    if (static_cast<int64_t>(i) == job.fail_idx) {
      job.stop = injected_fault(i);
      break;
    }
    const WriteOp& op = job.ops[i];
    job.data_headers[i] = {uid_, job.id, op.remote_region, op.remote_offset, op.len, job.epoch};
    auto* ctx = new SendCtx{this, job.id};
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.user_data = ctx;
    p.cb.send = [](void* request, ucs_status_t status, void* user_data) {
      auto* c = static_cast<SendCtx*>(user_data);
      c->agent->on_data_sent(c->id, status);
      delete c;
      ucp_request_free(request);
    };
    ucs_status_ptr_t req = ucp_am_send_nbx(job.peer->ep, kDataAm, &job.data_headers[i],
                                           sizeof(DataHeader), job.pins[i].data(), op.len, &p);
    ++job.next_op;
    bytes_sent_ += op.len;
    if (UCS_PTR_IS_PTR(req)) {
      ++job.inflight;
    } else {
      delete ctx;
      if (UCS_PTR_IS_ERR(req)) job.stop = ucx_error("ucp_am_send_nbx", UCS_PTR_STATUS(req));
    }
  }
  if (job.inflight != 0) return;
  if (job.stop.ok() && job.next_op < job.ops.size()) return;
  job.pins.clear();  // nothing reads local memory any more
  if (job.stop.ok()) return send_notify(job, job.ops.size());
  if (job.next_op > 0 && !job.peer->dead) {
    static thread_local DataHeader abort_header;
    abort_header = {uid_, job.id, 0, 0, 0, job.epoch};
    ucp_request_param_t p{};
    ucs_status_ptr_t req = ucp_am_send_nbx(job.peer->ep, kAbortAm, &abort_header,
                                           sizeof(abort_header), nullptr, 0, &p);
    if (UCS_PTR_IS_PTR(req)) ucp_request_free(req);
  }
  finish(job.id, job.stop);
}

void UcxAgent::on_data_sent(uint64_t id, ucs_status_t status) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  UcxJob& job = *it->second;
  --job.inflight;
  // CANCELED: the receiver refused the op; its ACK will say why.
  if (status != UCS_OK && status != UCS_ERR_CANCELED && job.stop.ok()) {
    job.stop = ucx_error("data to '" + job.peer->name + "'", status);
  }
}

void UcxAgent::on_landed(uint64_t sender_uid, uint64_t transfer_id, const Status& status) {
  auto key = std::make_pair(sender_uid, transfer_id);
  Assembly& a = assemblies_[key];
  ++a.landed;
  if (!status.ok() && a.refused.ok()) a.refused = status;
  deliver(key);
}

ucs_status_t UcxAgent::on_data_am(void* arg, const void* header, size_t header_len, void* data,
                                  size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(DataHeader)) return UCS_OK;
  DataHeader h;
  std::memcpy(&h, header, sizeof(h));
  bool rndv = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
  Status refused;
  Result<RegionPin> pin = Status(StatusCode::kInternal, "unset");
  if (self->notifications_.is_fenced(h.epoch)) {
    refused = aborted("epoch " + std::to_string(h.epoch) + " is fenced by the receiver");
  } else if (h.len != len) {
    refused = data_loss("data message length does not match its header");
  } else {
    pin = self->regions_.pin(h.region, h.offset, h.len, kInboundPinId);
    if (!pin.ok()) {
      refused = pin.status().with_context("receiver");
    } else if (pin->region().kind != MemoryKind::kHost && !self->cuda_memory_) {
      refused = unimplemented("receiver: device region without CUDA-capable UCX");
    }
  }
  if (!refused.ok() && !rndv) {
    self->on_landed(h.sender_uid, h.transfer_id, refused);
    return UCS_OK;
  }
  if (!rndv) {
    std::memcpy(pin->data(), data, len);
    pin->release();
    self->on_landed(h.sender_uid, h.transfer_id, ok_status());
    return UCS_OK;
  }
  // Rendezvous: receive straight into the region, or into scratch when
  // refused (UCX 1.13 leaves the sender's request hanging if the data is
  // merely released).
  struct RecvCtx {
    UcxAgent* agent;
    uint64_t sender_uid;
    uint64_t transfer_id;
    Status refused;
    RegionPin pin;
    std::vector<char> scratch;
  };
  auto* ctx = new RecvCtx{self, h.sender_uid, h.transfer_id, refused, {}, {}};
  void* dst = nullptr;
  if (refused.ok()) {
    ctx->pin = std::move(pin).value();
    dst = ctx->pin.data();
  } else {
    ctx->scratch.resize(len);
    dst = ctx->scratch.data();
  }
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.user_data = ctx;
  p.cb.recv_am = [](void* request, ucs_status_t status, size_t, void* user_data) {
    auto* c = static_cast<RecvCtx*>(user_data);
    c->pin.release();
    --c->agent->receiving_;
    Status s = !c->refused.ok()   ? c->refused
               : status == UCS_OK ? ok_status()
                                  : ucx_error("receive", status);
    c->agent->on_landed(c->sender_uid, c->transfer_id, s);
    delete c;
    ucp_request_free(request);
  };
  ++self->receiving_;
  ucs_status_ptr_t req = ucp_am_recv_data_nbx(self->worker_, data, dst, len, &p);
  if (!UCS_PTR_IS_PTR(req)) {
    ucs_status_t st = UCS_PTR_STATUS(req);
    ctx->pin.release();
    --self->receiving_;
    Status s = !ctx->refused.ok() ? ctx->refused
               : st == UCS_OK     ? ok_status()
                                  : ucx_error("receive", st);
    self->on_landed(h.sender_uid, h.transfer_id, s);
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
  self->assemblies_.erase({h.sender_uid, h.transfer_id});
  return UCS_OK;
}

}  // namespace pdserve::kvtransfer::ucx
