// The receiver's check of one inbound transfer whose ops arrive as a list
// before their bytes (nccl: the "O" control message, then ncclRecv): every
// op in turn through the InboundPolicy (fenced epoch, grants) and pinned in
// the RegionTable (registered, in bounds). The first refusal stops the check
// and drops the pins taken so far, so nothing of a refused transfer lands;
// an offence is counted (InboundPolicy::refuse) under `peer`. Thread-safe as
// its parts are.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/agent.h"
#include "kvtransfer/inbound_policy.h"
#include "kvtransfer/region_table.h"

namespace pdserve::kvtransfer {

struct CheckedOps {
  Status refused;               // ok: every op may land
  std::vector<RegionPin> pins;  // one per op when ok, else none
};

CheckedOps check_inbound_ops(InboundPolicy& policy, RegionTable& regions, uint64_t conn_id,
                             std::string_view peer, uint64_t epoch,
                             const std::vector<WriteOp>& ops);

}  // namespace pdserve::kvtransfer
