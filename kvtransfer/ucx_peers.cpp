// UcxAgent: endpoints to peers, their unpacked rkeys (from plan answers) and
// peer failure.
#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {

void UcxAgent::on_ep_error(void* arg, ucp_ep_h, ucs_status_t status) {
  auto* peer = static_cast<UcxPeer*>(arg);
  peer->dead_status = ucx_error("ucx peer '" + peer->name + "' failed", status);
  peer->dead = true;  // read by callers after dead_status is written
}

Result<uint64_t> UcxAgent::connect(std::string_view peer_metadata) {
  PD_ASSIGN_OR_RETURN(AgentMetadata md, AgentMetadata::parse(peer_metadata));
  PD_RETURN_IF_ERROR(check_compatible(md, BackendKind::kUcx, options_.compat_key));
  uint64_t id = 0;
  UcxPeer* fresh = nullptr;  // a new peer, not authenticated yet
  Status s = on_worker([&]() -> Status {
    std::lock_guard lock(mu_);
    for (auto& [pid, peer] : peers_) {
      if (peer->name == md.name && peer->address == md.address && !peer->dead &&
          peer->session.id != 0) {
        peer->regions = index_regions(md.regions);
        id = pid;
        return ok_status();
      }
    }
    auto peer = std::make_unique<UcxPeer>();
    peer->id = next_peer_id_++;
    peer->name = md.name;
    peer->address = md.address;
    peer->regions = index_regions(md.regions);
    ucp_ep_params_t ep{};
    ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                    UCP_EP_PARAM_FIELD_ERR_HANDLER;
    ep.address = reinterpret_cast<const ucp_address_t*>(peer->address.data());
    ep.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    ep.err_handler.cb = &UcxAgent::on_ep_error;
    ep.err_handler.arg = peer.get();
    ucs_status_t st = ucp_ep_create(worker_, &ep, &peer->ep);
    if (st == UCS_ERR_UNREACHABLE) {
      // UCX 1.13's shared-memory transports cannot report peer failure; there
      // a dead peer shows as a missing ACK (wait() -> kDeadlineExceeded).
      ep.err_mode = UCP_ERR_HANDLING_MODE_NONE;
      st = ucp_ep_create(worker_, &ep, &peer->ep);
    }
    if (st != UCS_OK) return ucx_error("ucp_ep_create to '" + md.name + "'", st);
    id = peer->id;
    fresh = peer.get();
    peers_[id] = std::move(peer);
    return ok_status();
  });
  PD_RETURN_IF_ERROR(s);
  if (fresh == nullptr) return id;
  if (Status auth = authenticate(fresh); !auth.ok()) {
    // On failure (the progress thread is stuck) the peer stays, unused: its id was never returned.
    Status dropped = on_worker([&] {
      std::lock_guard lock(mu_);
      close_endpoint(*fresh);
      peers_.erase(id);
      return ok_status();
    });
    return dropped.ok() ? auth : dropped;
  }
  return id;
}

Result<ucp_rkey_h> UcxAgent::rkey_for(UcxPeer& peer, uint64_t region_id) {
  if (auto it = peer.rkeys.find(region_id); it != peer.rkeys.end()) return it->second;
  return failed_precondition("no rkey for region " + std::to_string(region_id) + " of '" +
                             peer.name + "': the receiver accepted no plan naming it");
}

void UcxAgent::close_endpoint(UcxPeer& peer) {
  for (auto& [rid, rkey] : peer.rkeys) ucp_rkey_destroy(rkey);
  peer.rkeys.clear();
  if (peer.ep == nullptr) return;
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  p.flags = UCP_EP_CLOSE_FLAG_FORCE;
  void* req = ucp_ep_close_nbx(peer.ep, &p);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (UCS_PTR_IS_PTR(req) && ucp_request_check_status(req) == UCS_INPROGRESS &&
         std::chrono::steady_clock::now() < until) {
    ucp_worker_progress(worker_);
  }
  if (UCS_PTR_IS_PTR(req)) ucp_request_free(req);
  peer.ep = nullptr;
}

void UcxAgent::abandon_peer(UcxPeer* peer, const Status& status) {
  if (!peer->dead) {
    peer->dead_status = status;
    peer->dead = true;  // read by callers after dead_status is written
  }
  close_endpoint(*peer);
  fail_peer(peer, peer->dead_status);
}

void UcxAgent::fail_peer(UcxPeer* peer, const Status& status) {
  std::vector<uint64_t> ids;
  for (auto& [id, job] : jobs_) {
    if (job->peer == peer) ids.push_back(id);
  }
  for (uint64_t id : ids) finish(id, status);
}

}  // namespace pdserve::kvtransfer::ucx
