#include "kvtransfer/agent_core.h"

#include "common/base/logging.h"
#include "kvtransfer/device_copy.h"

namespace pdserve::kvtransfer {
namespace {
// grant() pins each range for a moment to check it against the regions.
constexpr uint64_t kGrantCheckPin = ~0ull - 1;
}  // namespace

RemoteRegions index_regions(const std::vector<RegionDesc>& regions) {
  RemoteRegions out;
  for (const RegionDesc& r : regions) out[r.id] = r;
  return out;
}

std::vector<WriteOp> coalesce_ops(const std::vector<WriteOp>& ops) {
  std::vector<WriteOp> out;
  out.reserve(ops.size());
  for (const WriteOp& op : ops) {
    if (!out.empty()) {
      WriteOp& last = out.back();
      if (last.local_region == op.local_region && last.remote_region == op.remote_region &&
          last.local_offset + last.len == op.local_offset &&
          last.remote_offset + last.len == op.remote_offset &&
          last.len + op.len <= kMaxCoalescedLen) {
        last.len += op.len;
        continue;
      }
    }
    out.push_back(op);
  }
  return out;
}

AgentCore::AgentCore(const AgentOptions& options)
    : options_(options),
      inbound_(options.name, options.require_grants, options.on_peer_refused, &grants_,
               &notifications_) {}

Status AgentCore::on_register(Region* region) {
  if (region->kind == MemoryKind::kDevice && !device_memory_supported()) {
    return unimplemented("device regions need a CUDA build and a CUDA device");
  }
  return ok_status();
}

void AgentCore::on_deregister(const Region&) {}

void AgentCore::on_cancel(uint64_t) {}

Result<uint64_t> AgentCore::register_region(void* addr, size_t len, MemoryKind kind) {
  if (addr == nullptr || len == 0) return invalid_argument("register_region: null or empty region");
  Region region;
  region.addr = static_cast<char*>(addr);
  region.len = len;
  region.kind = kind;
  PD_RETURN_IF_ERROR(on_register(&region));
  return regions_.add(std::move(region));
}

Status AgentCore::deregister_region(uint64_t region_id) {
  PD_RETURN_IF_ERROR(regions_.begin_remove(region_id));
  Result<Region> removed = regions_.finish_remove(region_id, std::chrono::seconds(2));
  if (!removed.ok() && removed.status().code() == StatusCode::kDeadlineExceeded) {
    for (uint64_t transfer_id : regions_.pinning_transfers(region_id)) {
      Result<bool> pending = transfers_.request_cancel(transfer_id);
      if (pending.ok() && *pending) on_cancel(transfer_id);
    }
    removed = regions_.finish_remove(region_id, std::chrono::seconds(5));
  }
  if (!removed.ok()) return removed.status();
  on_deregister(*removed);
  return ok_status();
}

Result<TransferState> AgentCore::poll(uint64_t transfer_id) {
  return transfers_.state(transfer_id);
}

Status AgentCore::wait(uint64_t transfer_id, std::chrono::milliseconds deadline) {
  return transfers_.wait(transfer_id, deadline);
}

Status AgentCore::cancel(uint64_t transfer_id) {
  PD_ASSIGN_OR_RETURN(bool pending, transfers_.request_cancel(transfer_id));
  if (pending) on_cancel(transfer_id);
  Status s = transfers_.wait(transfer_id, std::chrono::seconds(2));
  if (s.code() == StatusCode::kCancelled) return ok_status();
  if (s.code() == StatusCode::kDeadlineExceeded) {
    return deadline_exceeded("cancel requested, transfer " + std::to_string(transfer_id) +
                             " still pending after 2 s");
  }
  return failed_precondition("transfer " + std::to_string(transfer_id) +
                             " finished before the cancel took effect: " + s.to_string());
}

std::vector<Notification> AgentCore::take_notifications() {
  return notifications_.take_all();
}

Result<Notification> AgentCore::wait_notification(std::chrono::milliseconds deadline) {
  return notifications_.wait(deadline);
}

void AgentCore::fence_epoch(uint64_t epoch) {
  notifications_.fence(epoch);
  grants_.revoke(epoch);
}

Status AgentCore::grant(uint64_t epoch, const std::vector<GrantRange>& ranges, GrantScope scope) {
  if (notifications_.is_fenced(epoch)) {
    return failed_precondition("epoch " + std::to_string(epoch) + " is fenced");
  }
  for (const GrantRange& r : ranges) {
    PD_RETURN_IF_ERROR(regions_.pin(r.region, r.offset, r.len, kGrantCheckPin).status());
  }
  return grants_.grant(epoch, ranges, scope);
}

Status AgentCore::check_ops(const std::vector<WriteOp>& ops, const RemoteRegions& remote,
                            const std::string& notification) const {
  if (ops.empty()) return invalid_argument("post_write: empty op list");
  if (notification.size() > kMaxNotificationLen) {
    return invalid_argument("post_write: notification longer than " +
                            std::to_string(kMaxNotificationLen) + " bytes");
  }
  for (const WriteOp& op : ops) {
    if (op.len == 0) return invalid_argument("post_write: zero-length op");
    auto it = remote.find(op.remote_region);
    if (it == remote.end()) {
      return not_found("remote region " + std::to_string(op.remote_region) +
                       " is not in the peer's metadata");
    }
    PD_RETURN_IF_ERROR(check_bounds(op.remote_region, it->second.len, op.remote_offset, op.len)
                           .with_context("remote"));
  }
  return ok_status();
}

Result<std::vector<RegionPin>> AgentCore::pin_local(const std::vector<WriteOp>& ops,
                                                    uint64_t transfer_id) {
  std::vector<RegionPin> pins;
  pins.reserve(ops.size());
  for (const WriteOp& op : ops) {
    Result<RegionPin> pin = regions_.pin(op.local_region, op.local_offset, op.len, transfer_id);
    if (!pin.ok()) return pin.status().with_context("local");
    pins.push_back(std::move(pin).value());
  }
  return pins;
}

int64_t AgentCore::fault_index(size_t num_ops) {
  uint64_t every = static_cast<uint64_t>(options_.fail_every_n);
  uint64_t before = ops_posted_.fetch_add(num_ops);
  if (every == 0) return -1;
  uint64_t next_fail = (before / every + 1) * every;  // 1-based op count that fails
  if (next_fail > before + num_ops) return -1;
  return static_cast<int64_t>(next_fail - before - 1);
}

Result<AgentCore::PreparedOps> AgentCore::prepare_ops(std::vector<WriteOp> ops,
                                                      uint64_t transfer_id) {
  PreparedOps out;
  out.ops = coalesce_ops(ops);
  Result<std::vector<RegionPin>> pins = pin_local(out.ops, transfer_id);
  if (pins.ok()) {
    out.fail_idx = fault_index(ops.size());
    if (out.fail_idx >= 0) {  // the fault injector counts the caller's ops
      out.ops = std::move(ops);
      pins = pin_local(out.ops, transfer_id);
    }
  }
  if (!pins.ok()) {
    transfers_.complete(transfer_id, pins.status());
    return pins.status();
  }
  out.pins = std::move(pins).value();
  return out;
}

Status injected_fault(uint64_t op_idx) {
  return aborted("fault injector failed op " + std::to_string(op_idx) + " of the transfer");
}

}  // namespace pdserve::kvtransfer
