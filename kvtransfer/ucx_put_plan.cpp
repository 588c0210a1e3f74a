// UcxAgent, put protocol, receiver side: the PLAN a sender declares before
// its one-sided puts is checked as every other backend checks an inbound op
// list (check_inbound_ops: fenced epoch, grants, region, bounds) and its
// ranges stay pinned (AcceptedPlans, accepted_plans.h) until the transfer's
// NOTIFY, which must match it.
#include <cstring>
#include <set>

#include "kvtransfer/inbound_ops.h"
#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {

namespace {

// The answer to an accepted plan: per region it names, once,
// [u64 region id][u32 rkey length][packed rkey].
std::string rkeys_of(const std::vector<RegionPin>& pins) {
  std::string out;
  std::set<uint64_t> seen;
  for (const RegionPin& pin : pins) {
    const Region& r = pin.region();
    if (!seen.insert(r.id).second) continue;
    const auto len = static_cast<uint32_t>(r.rkey.size());
    out.append(reinterpret_cast<const char*>(&r.id), sizeof(r.id));
    out.append(reinterpret_cast<const char*>(&len), sizeof(len));
    out += r.rkey;
  }
  return out;
}

}  // namespace

Result<std::string> UcxAgent::accept_plan(const PlanHeader& h, const void* data, size_t len) {
  if (h.num_ops == 0 || h.num_ops > kMaxPlanOps || len != h.num_ops * sizeof(PlannedOp)) {
    Status malformed = invalid_argument("malformed plan");
    ban(h.session.id, malformed);
    return malformed;
  }
  std::vector<WriteOp> ops(h.num_ops);
  uint64_t bytes = 0;
  const char* in = static_cast<const char*>(data);
  for (WriteOp& op : ops) {
    PlannedOp planned;
    std::memcpy(&planned, in, sizeof(planned));
    in += sizeof(planned);
    op.remote_region = planned.region;
    op.remote_offset = planned.offset;
    op.len = planned.len;
    bytes += planned.len;
  }
  CheckedOps checked = check_inbound_ops(inbound_, regions_, h.session.id,
                                         "session " + std::to_string(h.session.id), h.epoch, ops);
  if (InboundPolicy::is_offence(checked.refused)) drop_session(h.session.id);
  if (!checked.refused.ok()) return checked.refused;
  std::string rkeys = rkeys_of(checked.pins);
  PD_RETURN_IF_ERROR(plans_.accept({h.session.id, h.transfer_id}, h.epoch, bytes,
                                   std::move(checked.pins), std::chrono::steady_clock::now()));
  return rkeys;
}

ucs_status_t UcxAgent::on_plan_am(void* arg, const void* header, size_t header_len, void* data,
                                  size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(PlanHeader) || (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0 ||
      (param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) == 0) {
    return UCS_OK;
  }
  PlanHeader h;
  std::memcpy(&h, header, sizeof(h));
  if (Status closed = self->closed_status(h.session.id); !closed.ok()) {
    self->answer_closed(kPlanAnswerAm, param->reply_ep, h.session, h.transfer_id, closed);
    return UCS_OK;
  }
  if (Status auth = self->check_session(h.session); !auth.ok()) {
    self->ban(h.session.id, auth);  // a stamp never issued: nothing kept, no answer
    return UCS_OK;
  }
  Result<std::string> verdict = self->accept_plan(h, data, len);
  std::string rkeys = verdict.ok() ? std::move(verdict).value() : std::string();
  self->queue_ack(kPlanAnswerAm, param->reply_ep, h.session, h.transfer_id, verdict.status(),
                  std::move(rkeys));
  return UCS_OK;
}

}  // namespace pdserve::kvtransfer::ucx
