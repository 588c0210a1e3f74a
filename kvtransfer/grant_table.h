// GrantTable: the receiver's list of what peers may write. A grant names an
// epoch and the exact byte ranges of registered regions that writes of that
// epoch may touch; the decode worker grants the destination blocks of one
// remote prefill and revokes (fences) the epoch when the transfer ends.
//
//   grant(epoch, ranges, scope) ─▶ first write or notification of the epoch
//        binds it to that connection (kFirstPeer) ─▶ revoke(epoch)
//
// A write of an epoch with no grant, from another connection than the one
// the grant is bound to, or outside the granted ranges is kPermissionDenied:
// the backend refuses it before any byte lands and drops the connection.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {

class GrantTable {
 public:
  static constexpr size_t kMaxGrants = 1 << 16;

  // kInvalidArgument for an empty range list or a zero-length range;
  // kAlreadyExists when the epoch has a grant; kResourceExhausted past kMaxGrants.
  // Ranges may overlap or touch; they are merged per region.
  Status grant(uint64_t epoch, const std::vector<GrantRange>& ranges, GrantScope scope);
  void revoke(uint64_t epoch);
  // ok when connection `conn_id` may write [offset, offset+len) of `region`
  // with `epoch` (binding a kFirstPeer grant to it on first use).
  Status check_write(uint64_t conn_id, uint64_t epoch, uint64_t region, uint64_t offset,
                     uint64_t len);
  // check_write of every op's remote range under one lock; the first refusal.
  Status check_writes(uint64_t conn_id, uint64_t epoch, const std::vector<WriteOp>& ops);
  // ok when connection `conn_id` may deliver a notification of `epoch`.
  Status check_notify(uint64_t conn_id, uint64_t epoch);
  // The ranges connection `conn_id` may write with `epoch` (binding a
  // kFirstPeer grant to it, as a write does), merged per region.
  Result<std::vector<GrantRange>> ranges(uint64_t conn_id, uint64_t epoch);
  size_t size() const;

 private:
  struct Grant {
    GrantScope scope = GrantScope::kFirstPeer;
    std::optional<uint64_t> owner;
    std::map<uint64_t, std::map<uint64_t, uint64_t>> ranges;  // region -> begin -> end
  };
  // Under mu_: the grant of `epoch` if `conn_id` may use it (binds it).
  Result<Grant*> claim(uint64_t conn_id, uint64_t epoch);
  static Status check_range(const Grant& g, uint64_t epoch, uint64_t region, uint64_t offset,
                            uint64_t len);

  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Grant> grants_;
};

}  // namespace pdserve::kvtransfer
