// UcxAgent: liveness of the peers a transfer waits on (PROBE and its
// answer) and broken peers (see "Liveness and broken peers" in
// ucx_internal.h).
#include <algorithm>
#include <cstring>

#include "common/base/logging.h"
#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {

bool UcxAgent::check_alive(UcxJob& job) {
  UcxPeer& peer = *job.peer;
  const bool waiting = job.phase == UcxJob::Phase::kAwaitingAck ||
                       job.phase == UcxJob::Phase::kPlanning ||
                       job.phase == UcxJob::Phase::kFlushing ||
                       (job.phase == UcxJob::Phase::kPosting && job.inflight > 0);
  if (!waiting) return true;
  const auto now = std::chrono::steady_clock::now();
  const auto silent = now - std::max({job.progressed_at, job.notified_at, peer.heard_at});
  if (silent > kSilenceTimeout) return false;
  if (silent > kProbeInterval && now - peer.probed_at > kProbeInterval) send_probe(peer);
  return true;
}

void UcxAgent::send_probe(UcxPeer& peer) {
  peer.probed_at = std::chrono::steady_clock::now();
  const AckHeader h{peer.session, 0, 0};
  send_to_peer(peer, kProbeAm, std::string(reinterpret_cast<const char*>(&h), sizeof(h)), true,
               "probe");
}

void UcxAgent::send_to_peer(UcxPeer& peer, unsigned am_id, std::string header, bool reply,
                            const char* what) {
  struct SendCtx {
    UcxPeer* peer;
    std::string header;  // lives until the send completes (UCX 1.13 does not copy it)
    const char* what;
  };
  auto* ctx = new SendCtx{&peer, std::move(header), what};
  ucp_request_param_t p{};
  p.op_attr_mask =
      UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.flags = UCP_AM_SEND_FLAG_EAGER | (reply ? UCP_AM_SEND_FLAG_REPLY : 0);
  p.user_data = ctx;
  p.cb.send = [](void* request, ucs_status_t status, void* user_data) {
    auto* c = static_cast<SendCtx*>(user_data);
    if (status != UCS_OK) {
      mark_broken(*c->peer,
                  ucx_error(std::string(c->what) + " to '" + c->peer->name + "'", status));
    }
    delete c;
    ucp_request_free(request);
  };
  ucs_status_ptr_t req =
      ucp_am_send_nbx(peer.ep, am_id, ctx->header.data(), ctx->header.size(), nullptr, 0, &p);
  if (UCS_PTR_IS_PTR(req)) return;
  delete ctx;
  if (UCS_PTR_IS_ERR(req)) {
    mark_broken(peer,
                ucx_error(std::string(what) + " to '" + peer.name + "'", UCS_PTR_STATUS(req)));
  }
}

void UcxAgent::mark_broken(UcxPeer& peer, const Status& why) {
  if (peer.broken.ok()) peer.broken = why;
}

ucs_status_t UcxAgent::on_probe_am(void* arg, const void* header, size_t header_len, void*,
                                   size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(AckHeader) || len != 0 ||
      (param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) == 0) {
    return UCS_OK;
  }
  AckHeader h;
  std::memcpy(&h, header, sizeof(h));
  const Status closed = self->closed_status(h.session.id);
  if (closed.ok()) {
    if (Status auth = self->check_session(h.session); !auth.ok()) {
      self->ban(h.session.id, auth);  // a stamp never issued: counted, no answer
      return UCS_OK;
    }
  }
  self->queue_ack(kProbeAnswerAm, param->reply_ep, h.session, 0, closed);
  return UCS_OK;
}

ucs_status_t UcxAgent::on_probe_answer_am(void* arg, const void* header, size_t header_len,
                                          void* data, size_t len, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(AckHeader)) return UCS_OK;
  AckHeader h;
  std::memcpy(&h, header, sizeof(h));
  // No lock: only this thread changes the map's shape, and it may hold mu_
  // while it progresses the worker (connect(), shutdown()).
  UcxPeer* peer = nullptr;
  for (auto& [id, p] : self->peers_) {
    if (p->session.id == h.session.id && h.session.id != 0 &&
        proofs_equal(h.session.tag_view(), p->session.tag_view())) {
      peer = p.get();
    }
  }
  if (peer == nullptr) {  // only the receiver of a session knows its tag
    self->inbound_.refuse("a probe answer", unauthenticated("not stamped with a session of ours"));
    return UCS_OK;
  }
  const Status answer = answer_status(h, data, len);
  if (answer.ok()) {
    peer->heard_at = std::chrono::steady_clock::now();
  } else {
    // kUnavailable whatever the receiver's reason: a new session may serve.
    mark_broken(*peer, unavailable("ucx peer '" + peer->name +
                                   "' closed the session: " + answer.message()));
  }
  return UCS_OK;
}

}  // namespace pdserve::kvtransfer::ucx
