// AgentCore: what every backend shares — region registration, the transfer
// table (poll / wait / cancel), the notification queue with epoch fencing,
// the grants and the inbound checks over them,
// byte counters and the fault injector. A backend derives from it, implements
// metadata / connect / post_write, and may hook registration and cancel.
// Thread-safe like Agent.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "kvtransfer/agent.h"
#include "kvtransfer/grant_table.h"
#include "kvtransfer/inbound_policy.h"
#include "kvtransfer/metadata.h"
#include "kvtransfer/notification_queue.h"
#include "kvtransfer/region_table.h"
#include "kvtransfer/transfer_table.h"

namespace pdserve::kvtransfer {

using RemoteRegions = std::unordered_map<uint64_t, RegionDesc>;
RemoteRegions index_regions(const std::vector<RegionDesc>& regions);
// Merges runs of ops that are contiguous both locally and remotely (same
// regions) into one op of at most kMaxCoalescedLen bytes: KV blocks allocated
// together are often adjacent, and one large op costs one frame / message.
inline constexpr uint64_t kMaxCoalescedLen = 16 << 20;
std::vector<WriteOp> coalesce_ops(const std::vector<WriteOp>& ops);
// The status of a transfer the fault injector failed at op_idx (kAborted).
Status injected_fault(uint64_t op_idx);

class AgentCore : public Agent {
 public:
  explicit AgentCore(const AgentOptions& options);

  Result<uint64_t> register_region(void* addr, size_t len, MemoryKind kind) override;
  Status deregister_region(uint64_t region_id) override;
  Result<TransferState> poll(uint64_t transfer_id) override;
  Status wait(uint64_t transfer_id, std::chrono::milliseconds deadline) override;
  Status cancel(uint64_t transfer_id) override;
  std::vector<Notification> take_notifications() override;
  Result<Notification> wait_notification(std::chrono::milliseconds deadline) override;
  void fence_epoch(uint64_t epoch) override;
  Status grant(uint64_t epoch, const std::vector<GrantRange>& ranges, GrantScope scope) override;
  uint64_t peers_refused() const override { return inbound_.num_refused(); }
  uint64_t bytes_sent() const override { return bytes_sent_.load(); }
  uint64_t bytes_received() const override { return bytes_received_.load(); }

 protected:
  // Backend hooks. on_register may fill rkey / backend_handle or refuse the
  // memory kind; on_deregister runs once no local transfer pins the region.
  virtual Status on_register(Region* region);
  virtual void on_deregister(const Region& region);
  // Called after a pending transfer was marked cancel-requested.
  virtual void on_cancel(uint64_t transfer_id);

  // Post-time checks shared by all backends (see Agent::post_write).
  Status check_ops(const std::vector<WriteOp>& ops, const RemoteRegions& remote,
                   const std::string& notification) const;
  // Pins the local region of every op for transfer_id.
  Result<std::vector<RegionPin>> pin_local(const std::vector<WriteOp>& ops, uint64_t transfer_id);
  // Index (within this transfer) of the op the fault injector fails, or -1.
  int64_t fault_index(size_t num_ops);

  // What a backend sends for one posted write: the ops (coalesced, unless the
  // fault injector will fail one of the caller's ops, which it counts), their
  // local pins and the op that fails (-1: none). On an error the transfer is
  // completed with it.
  struct PreparedOps {
    std::vector<WriteOp> ops;
    std::vector<RegionPin> pins;
    int64_t fail_idx = -1;
  };
  Result<PreparedOps> prepare_ops(std::vector<WriteOp> ops, uint64_t transfer_id);

  const AgentOptions options_;
  RegionTable regions_;
  TransferTable transfers_;
  NotificationQueue notifications_;
  GrantTable grants_;
  InboundPolicy inbound_;  // over grants_ and notifications_
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};

 private:
  std::atomic<uint64_t> ops_posted_{0};
};

}  // namespace pdserve::kvtransfer
