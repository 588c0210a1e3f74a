#include "kvtransfer/inbound_policy.h"

#include "common/base/logging.h"

namespace pdserve::kvtransfer {
namespace {

Status fenced(uint64_t epoch) {
  return aborted("epoch " + std::to_string(epoch) + " is fenced by the receiver");
}

}  // namespace

Status InboundPolicy::check_write(uint64_t conn_id, uint64_t epoch, uint64_t region,
                                  uint64_t offset, uint64_t len) {
  if (notifications_->is_fenced(epoch)) return fenced(epoch);
  if (!require_grants_) return ok_status();
  return grants_->check_write(conn_id, epoch, region, offset, len);
}

Status InboundPolicy::check_writes(uint64_t conn_id, uint64_t epoch,
                                   const std::vector<WriteOp>& ops) {
  if (notifications_->is_fenced(epoch)) return fenced(epoch);
  if (!require_grants_) return ok_status();
  return grants_->check_writes(conn_id, epoch, ops);
}

Status InboundPolicy::deliver(uint64_t conn_id, Notification note) {
  if (note.payload.size() > kMaxNotificationLen) {
    return invalid_argument("notification of " + std::to_string(note.payload.size()) +
                            " bytes (at most " + std::to_string(kMaxNotificationLen) + ")");
  }
  if (notifications_->is_fenced(note.epoch)) return fenced(note.epoch);
  if (require_grants_) PD_RETURN_IF_ERROR(grants_->check_notify(conn_id, note.epoch));
  return notifications_->push(conn_id, std::move(note));
}

void InboundPolicy::refuse(std::string_view peer, const Status& why) {
  ++refused_;
  if (on_refused_) on_refused_();
  PD_LOG(WARN) << "kvtransfer " << agent_name_ << ": refused peer '" << peer
               << "': " << why.to_string();
}

}  // namespace pdserve::kvtransfer
