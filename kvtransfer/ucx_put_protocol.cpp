// UcxAgent, put protocol, sender side: PLAN (the op list) and its answer,
// then ucp_put_nbx per op in batches of kPutBatch, at most
// kMaxPutInflightBytes not yet locally complete (so that a cancel or a fault
// stops the transfer within that much data), then ucp_ep_flush_nbx, then
// NOTIFY (ucx_notify.cpp).
#include <algorithm>
#include <cstring>

#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {

void UcxAgent::send_plan(UcxJob& job) {
  job.plan = {job.peer->session, job.id, job.epoch, job.ops.size()};
  job.am_data.resize(job.ops.size() * sizeof(PlannedOp));
  char* out = job.am_data.data();
  for (const WriteOp& op : job.ops) {
    const PlannedOp planned{op.remote_region, op.remote_offset, op.len};
    std::memcpy(out, &planned, sizeof(planned));
    out += sizeof(planned);
  }
  send_control(job, kPlanAm, &job.plan, sizeof(job.plan), UcxJob::Phase::kPlanning);
}

ucs_status_t UcxAgent::on_plan_answer_am(void* arg, const void* header, size_t header_len,
                                         void* data, size_t len, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(AckHeader)) return UCS_OK;
  AckHeader h;
  std::memcpy(&h, header, sizeof(h));
  UcxJob* job = self->answered_job(h);
  if (job == nullptr || job->phase != UcxJob::Phase::kPlanning) return UCS_OK;
  Status accepted = answer_status(h, data, len);
  if (!accepted.ok()) {  // nothing was put
    self->finish(job->id, accepted);
    return UCS_OK;
  }
  Status rkeys = take_rkeys(*job->peer, {static_cast<const char*>(data), data ? len : 0});
  if (!rkeys.ok()) {
    self->finish(job->id, rkeys);
    return UCS_OK;
  }
  job->planned = true;
  job->phase = UcxJob::Phase::kPosting;  // the progress loop posts the puts
  return UCS_OK;
}

Status UcxAgent::take_rkeys(UcxPeer& peer, std::string_view answer) {
  while (!answer.empty()) {
    uint64_t region_id = 0;
    uint32_t len = 0;
    if (answer.size() < sizeof(region_id) + sizeof(len)) break;
    std::memcpy(&region_id, answer.data(), sizeof(region_id));
    std::memcpy(&len, answer.data() + sizeof(region_id), sizeof(len));
    answer.remove_prefix(sizeof(region_id) + sizeof(len));
    if (answer.size() < len) break;
    const std::string packed(answer.substr(0, len));
    answer.remove_prefix(len);
    if (peer.rkeys.count(region_id) != 0) continue;
    ucp_rkey_h rkey = nullptr;
    ucs_status_t s = ucp_ep_rkey_unpack(peer.ep, packed.data(), &rkey);
    if (s != UCS_OK) return ucx_error("ucp_ep_rkey_unpack", s);
    peer.rkeys[region_id] = rkey;
  }
  if (!answer.empty()) return data_loss("malformed plan answer from '" + peer.name + "'");
  return ok_status();
}

void UcxAgent::drive_put(UcxJob& job) {
  if (!job.planned && job.stop.ok()) return send_plan(job);
  size_t end = std::min(job.ops.size(), job.next_op + kPutBatch);
  while (job.stop.ok() && job.next_op < end && job.put_inflight_bytes < kMaxPutInflightBytes) {
    size_t i = job.next_op;
    if (static_cast<int64_t>(i) == job.fail_idx) {
      job.stop = injected_fault(i);
      break;
    }
    const WriteOp& op = job.ops[i];
    const auto remote_region = job.peer->regions.find(op.remote_region);
    if (remote_region == job.peer->regions.end()) {
      job.stop = not_found("remote region " + std::to_string(op.remote_region) +
                           " is no longer in the metadata of '" + job.peer->name + "'");
      break;
    }
    if (remote_region->second.rkey.empty()) {  // staged there since post_write checked
      job.stop = staged_remote_error(*job.peer, op);
      break;
    }
    Result<ucp_rkey_h> rkey = rkey_for(*job.peer, op.remote_region);
    if (!rkey.ok()) {
      job.stop = rkey.status();
      break;
    }
    uint64_t remote = remote_region->second.addr + op.remote_offset;
    struct PutCtx {
      UcxAgent* agent;
      uint64_t id;
      uint64_t len;
    };
    auto* ctx = new PutCtx{this, job.id, op.len};
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.user_data = ctx;
    p.cb.send = [](void* request, ucs_status_t, void* user_data) {
      auto* c = static_cast<PutCtx*>(user_data);
      // Remote completion (and any error) is the flush's business.
      if (auto it = c->agent->jobs_.find(c->id); it != c->agent->jobs_.end()) {
        it->second->put_inflight_bytes -= c->len;
      }
      delete c;
      ucp_request_free(request);
    };
    ucs_status_ptr_t req = ucp_put_nbx(job.peer->ep, job.pins[i].data(), op.len, remote, *rkey, &p);
    if (UCS_PTR_IS_ERR(req)) {
      delete ctx;
      job.stop = ucx_error("ucp_put_nbx", UCS_PTR_STATUS(req));
      break;
    }
    if (UCS_PTR_IS_PTR(req)) {
      job.put_inflight_bytes += op.len;
    } else {
      delete ctx;
    }
    bytes_sent_ += op.len;
    job.progressed_at = std::chrono::steady_clock::now();
    ++job.next_op;
  }
  if (!job.stop.ok() || job.next_op == job.ops.size()) start_flush(job);
}

Status UcxAgent::check_put_targets(const UcxPeer& peer, const std::vector<WriteOp>& ops) {
  for (const WriteOp& op : ops) {
    if (peer.regions.at(op.remote_region).rkey.empty()) return staged_remote_error(peer, op);
  }
  return ok_status();
}

Status UcxAgent::staged_remote_error(const UcxPeer& peer, const WriteOp& op) {
  return unimplemented("remote region " + std::to_string(op.remote_region) + " of '" + peer.name +
                       "' is staged through host buffers there; the put protocol cannot write it "
                       "(use the am protocol)");
}

void UcxAgent::start_flush(UcxJob& job) {
  job.phase = UcxJob::Phase::kFlushing;
  job.progressed_at = std::chrono::steady_clock::now();
  // The callback needs the agent and the transfer id: a small heap record.
  struct FlushCtx {
    UcxAgent* agent;
    uint64_t id;
  };
  auto* ctx = new FlushCtx{this, job.id};
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.user_data = ctx;
  p.cb.send = [](void* request, ucs_status_t status, void* user_data) {
    auto* c = static_cast<FlushCtx*>(user_data);
    c->agent->on_flushed(c->id, status);
    delete c;
    ucp_request_free(request);
  };
  ucs_status_ptr_t req = ucp_ep_flush_nbx(job.peer->ep, &p);
  if (!UCS_PTR_IS_PTR(req)) {
    delete ctx;
    on_flushed(job.id, UCS_PTR_STATUS(req));
  }
}

void UcxAgent::on_flushed(uint64_t id, ucs_status_t status) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  UcxJob& job = *it->second;
  job.pins.clear();  // no put reads local memory any more
  if (status == UCS_OK && job.stop.ok()) return send_notify(job, 0);
  if (job.planned) send_abort(job, 0);  // the receiver drops the plan's pins
  if (status != UCS_OK) return finish(id, ucx_error("flush to '" + job.peer->name + "'", status));
  finish(id, job.stop);
}

}  // namespace pdserve::kvtransfer::ucx
