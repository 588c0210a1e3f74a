#include "kvtransfer/inbound_ops.h"

namespace pdserve::kvtransfer {

namespace {
constexpr uint64_t kInboundPinId = ~0ull;  // pins of received data, never a local transfer
}  // namespace

CheckedOps check_inbound_ops(InboundPolicy& policy, RegionTable& regions, uint64_t conn_id,
                             std::string_view peer, uint64_t epoch,
                             const std::vector<WriteOp>& ops) {
  CheckedOps out;
  for (const WriteOp& op : ops) {
    out.refused = policy.check_write(conn_id, epoch, op.remote_region, op.remote_offset, op.len);
    if (InboundPolicy::is_offence(out.refused)) policy.refuse(peer, out.refused);
    if (!out.refused.ok()) break;
    Result<RegionPin> pin = regions.pin(op.remote_region, op.remote_offset, op.len, kInboundPinId);
    if (!pin.ok()) {
      out.refused = pin.status().with_context("receiver");
      break;
    }
    out.pins.push_back(std::move(pin).value());
  }
  if (!out.refused.ok()) out.pins.clear();
  return out;
}

}  // namespace pdserve::kvtransfer
