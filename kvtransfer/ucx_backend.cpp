// UcxAgent, the Agent: regions (ucp_mem_map + packed rkeys), metadata,
// post_write and the per-job dispatch to a protocol. Protocols and threading:
// ucx_internal.h.
#include "kvtransfer/backends.h"
#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {

Status UcxAgent::on_register(Region* region) {
  if (staged(region->kind)) {
    if (protocol_ == Protocol::kPut) {
      return unimplemented(
          "ucx: this UCX build cannot reach CUDA memory and the put protocol cannot stage it "
          "through host buffers; use the am protocol (PDSERVE_KV_UCX_PROTOCOL=am)");
    }
    return ok_status();  // not mapped, no rkey: staged (ucx_internal.h)
  }
  ucp_mem_map_params_t mp{};
  mp.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
  mp.address = region->addr;
  mp.length = region->len;
  if (region->kind == MemoryKind::kDevice) {
    mp.field_mask |= UCP_MEM_MAP_PARAM_FIELD_MEMORY_TYPE;
    mp.memory_type = UCS_MEMORY_TYPE_CUDA;
  }
  ucp_mem_h memh = nullptr;
  ucs_status_t s = ucp_mem_map(context_, &mp, &memh);
  if (s != UCS_OK) return ucx_error("ucp_mem_map", s);
  void* rkey = nullptr;
  size_t rkey_len = 0;
  s = ucp_rkey_pack(context_, memh, &rkey, &rkey_len);
  if (s != UCS_OK) {
    ucp_mem_unmap(context_, memh);
    return ucx_error("ucp_rkey_pack", s);
  }
  region->rkey.assign(static_cast<const char*>(rkey), rkey_len);
  ucp_rkey_buffer_release(rkey);
  region->backend_handle = memh;
  return ok_status();
}

void UcxAgent::on_deregister(const Region& region) {
  if (region.backend_handle == nullptr) return;
  ucp_mem_unmap(context_, static_cast<ucp_mem_h>(region.backend_handle));
}

std::string UcxAgent::metadata() const {
  AgentMetadata md;
  md.backend = BackendKind::kUcx;
  md.name = options_.name;
  md.compat_key = options_.compat_key;
  md.address = worker_address_;
  md.regions = regions_.describe();
  for (RegionDesc& r : md.regions) {
    if (!r.rkey.empty()) r.rkey = kWithheldRkey;  // only in plan answers (ucx_internal.h)
  }
  return md.serialize();
}

Result<uint64_t> UcxAgent::post_write(uint64_t peer_id, std::vector<WriteOp> ops,
                                      std::string notification, uint64_t epoch) {
  UcxPeer* peer = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer_id);
    if (it == peers_.end()) return not_found("peer " + std::to_string(peer_id) + " is unknown");
    peer = it->second.get();
    PD_RETURN_IF_ERROR(check_ops(ops, peer->regions, notification));
    if (peer->dead) return peer->dead_status;
    if (protocol_ == Protocol::kPut) PD_RETURN_IF_ERROR(check_put_targets(*peer, ops));
  }
  auto job = std::make_unique<UcxJob>();
  job->id = transfers_.create(peer_id);
  PD_ASSIGN_OR_RETURN(PreparedOps prepared, prepare_ops(std::move(ops), job->id));
  job->fail_idx = prepared.fail_idx;
  job->pins = std::move(prepared.pins);
  ops = std::move(prepared.ops);
  job->peer = peer;
  job->ops = std::move(ops);
  job->notification = std::move(notification);
  job->epoch = epoch;
  uint64_t id = job->id;
  auto shared = std::make_shared<std::unique_ptr<UcxJob>>(std::move(job));
  submit([this, shared] {
    uint64_t jid = (*shared)->id;
    jobs_[jid] = std::move(*shared);
  });
  return id;
}

void UcxAgent::drive(UcxJob& job) {
  if (job.peer->dead) return fail_peer(job.peer, job.peer->dead_status);
  if (!job.peer->broken.ok()) return abandon_peer(job.peer, job.peer->broken);
  if (!check_alive(job)) {
    return abandon_peer(job.peer, unavailable("ucx peer '" + job.peer->name +
                                              "' answered nothing, probes included, within " +
                                              std::to_string(kSilenceTimeout.count()) + " s"));
  }
  const bool awaiting =
      job.phase == UcxJob::Phase::kAwaitingAck || job.phase == UcxJob::Phase::kPlanning;
  if (awaiting && std::chrono::steady_clock::now() - job.notified_at > kAckTimeout) {
    return finish(job.id, unavailable("no answer from peer '" + job.peer->name + "' within 30 s"));
  }
  const bool sending = (job.phase == UcxJob::Phase::kPosting && job.inflight > 0) ||
                       job.phase == UcxJob::Phase::kFlushing;
  if (sending && std::chrono::steady_clock::now() - job.progressed_at > kAckTimeout) {
    return abandon_peer(job.peer, unavailable("ucx peer '" + job.peer->name +
                                              "' completed no data send within 30 s"));
  }
  if (job.phase != UcxJob::Phase::kPosting) return;
  if (job.stop.ok() && transfers_.cancel_requested(job.id)) {
    job.stop = cancelled("transfer " + std::to_string(job.id) + " cancelled");
  }
  if (protocol_ == Protocol::kAm) return drive_am(job);
  drive_put(job);
}

void UcxAgent::finish(uint64_t id, const Status& status) {
  transfers_.complete(id, status);
  jobs_.erase(id);
}

}  // namespace pdserve::kvtransfer::ucx

namespace pdserve::kvtransfer {

Result<std::unique_ptr<Agent>> create_ucx_agent(const AgentOptions& options) {
  auto agent = std::make_unique<ucx::UcxAgent>(options);
  PD_RETURN_IF_ERROR(agent->start());
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace pdserve::kvtransfer
