// InboundPolicy: what a receiving backend asks before it lets an inbound op
// or notification of one connection land (every backend, agent.h "Who may
// write"). Fenced epochs first (kAborted: a late write the receiver gave up
// on, not an offence), then the grants (kPermissionDenied: the backend drops
// the connection and calls refuse()), then the per-connection queue bound.
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/grant_table.h"
#include "kvtransfer/notification_queue.h"

namespace pdserve::kvtransfer {

class InboundPolicy {
 public:
  InboundPolicy(std::string agent_name, bool require_grants, std::function<void()> on_refused,
                GrantTable* grants, NotificationQueue* notifications)
      : agent_name_(std::move(agent_name)),
        require_grants_(require_grants),
        on_refused_(std::move(on_refused)),
        grants_(grants),
        notifications_(notifications) {}

  Status check_write(uint64_t conn_id, uint64_t epoch, uint64_t region, uint64_t offset,
                     uint64_t len);
  // check_write of every op's remote range (one fence lookup, one grant
  // lock); the first refusal.
  Status check_writes(uint64_t conn_id, uint64_t epoch, const std::vector<WriteOp>& ops);
  // Checks and queues: ok, kAborted (fenced), kPermissionDenied (no grant),
  // kResourceExhausted (too many queued from this connection) or
  // kInvalidArgument (payload over kMaxNotificationLen).
  Status deliver(uint64_t conn_id, Notification note);
  // Logs (one line, without secrets) and counts a refused or dropped connection.
  void refuse(std::string_view peer, const Status& why);
  // True for the statuses after which the connection must be dropped.
  static bool is_offence(const Status& s) {
    return s.code() == StatusCode::kPermissionDenied ||
           s.code() == StatusCode::kResourceExhausted || s.code() == StatusCode::kInvalidArgument ||
           s.code() == StatusCode::kUnauthenticated;
  }
  uint64_t num_refused() const { return refused_.load(); }

 private:
  const std::string agent_name_;
  const bool require_grants_;
  const std::function<void()> on_refused_;
  GrantTable* grants_;
  NotificationQueue* notifications_;
  std::atomic<uint64_t> refused_{0};
};

}  // namespace pdserve::kvtransfer
