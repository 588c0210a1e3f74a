// cuda_ipc backend, the receiving half (control thread): answers a HELLO with
// the region table over its own authenticated connection back, checks and
// pins each transfer's ops before its GO (a claim's GO carries the epoch's
// lease; a leased op list is checked and pinned as it arrives, its copy
// already running), delivers the notification (answering all but parts),
// takes leases back at RELEASE or when the sender is gone.
#include "common/base/logging.h"
#include "kvtransfer/cuda_ipc_agent.h"

namespace pdserve::kvtransfer::cuda_ipc {
namespace {
// Pins taken for a peer's copies carry this transfer id, so deregistration
// never mistakes them for local transfers.
constexpr uint64_t kInboundPin = ~0ull;
}  // namespace

void CudaIpcAgent::on_hello(const std::string& sender, const Message& m) {
  Result<AgentMetadata> ctrl_md = AgentMetadata::parse(m.text);
  if (!ctrl_md.ok() || ctrl_md->regions.empty()) {
    return inbound_.refuse(display_name(sender),
                           invalid_argument("cuda_ipc hello without control metadata"));
  }
  // Our connection back proves the token to the sender's control agent too;
  // the handles go over it only.
  Result<uint64_t> back = ctrl_->connect(m.text);
  if (!back.ok()) {
    PD_LOG(WARN) << "kvtransfer cuda_ipc " << options_.name << ": cannot answer '"
                 << display_name(sender) << "': " << back.status().to_string();
    return;
  }
  Message table;
  table.verb = Verb::kRegions;
  table.text = boot_id_;
  table.device = pci_bus_id_;
  for (const Region& r : regions_.all()) {
    Result<ExportedRegion> e = export_region(r.id, r.addr, r.len);
    if (e.ok()) table.regions.push_back(std::move(e).value());
  }
  std::lock_guard lock(mu_);
  InLink& link = in_[sender];
  link.link = {*back, ctrl_md->regions[0].id};
  if (Status s = send(link.link, table); !s.ok()) {
    PD_LOG(WARN) << "kvtransfer cuda_ipc " << options_.name << ": " << s.to_string();
  }
}

void CudaIpcAgent::on_ops(const std::string& sender, const Message& m) {
  std::lock_guard lock(mu_);
  auto link = in_.find(sender);
  if (link == in_.end()) {
    return inbound_.refuse(display_name(sender), invalid_argument("cuda_ipc ops before hello"));
  }
  const auto conn_id = reinterpret_cast<uintptr_t>(&link->second);
  const bool leased = m.verb == Verb::kLeased;  // its copy runs already: no GO
  if (leased && leases_.count({sender, m.epoch}) == 0) {
    inbound_.refuse(display_name(sender),
                    permission_denied("cuda_ipc: a copy under a lease of epoch " +
                                      std::to_string(m.epoch) + " it does not hold"));
    return drop_sender(sender);
  }
  // In flight before the checks: a fence either refuses the ops below or
  // waits until their NOTIFY / CANCEL.
  inflight_.add(m.epoch);
  Granted g;
  g.epoch = m.epoch;
  Status s = invalid_argument("cuda_ipc: empty op list");
  if (!m.ops.empty()) {
    s = inbound_.check_writes(conn_id, m.epoch, m.ops);
    if (InboundPolicy::is_offence(s)) {
      inbound_.refuse(display_name(sender), s);
      if (leased) {
        inflight_.remove(m.epoch);
        return drop_sender(sender);
      }
    }
  }
  if (s.ok()) {  // one pin per region, not per block
    std::vector<GrantRange> ranges;
    ranges.reserve(m.ops.size());
    for (const WriteOp& op : m.ops) {
      ranges.push_back({op.remote_region, op.remote_offset, op.len});
      g.bytes += op.len;
    }
    Result<std::vector<RegionPin>> pins = regions_.pin_hulls(ranges, kInboundPin);
    s = pins.ok() ? ok_status() : pins.status().with_context("receiver");
    if (pins.ok()) g.pins = std::move(pins).value();
  }
  if (leased) {  // a fence raced the copy, or a region went: its notification fails
    g.refused = s;
    granted_[{sender, m.transfer_id}] = std::move(g);
    return;
  }
  Message go = status_message(Verb::kGo, m.transfer_id, s);
  if (s.ok()) {
    granted_[{sender, m.transfer_id}] = std::move(g);
  } else {
    inflight_.remove(m.epoch);
  }
  if (s.ok() && m.verb == Verb::kClaim && leases_.count({sender, m.epoch}) == 0) {
    Result<std::vector<GrantRange>> lease = lease_ranges(conn_id, m.epoch);
    if (lease.ok()) {  // held in flight until the sender's RELEASE
      leases_.insert({sender, m.epoch});
      inflight_.add(m.epoch);
      for (const GrantRange& r : *lease) go.ops.push_back({0, 0, r.region, r.offset, r.len});
    }
  }
  (void)send(link->second.link, go);
}

Result<std::vector<GrantRange>> CudaIpcAgent::lease_ranges(uint64_t conn_id, uint64_t epoch) {
  if (options_.require_grants) return grants_.ranges(conn_id, epoch);
  std::vector<GrantRange> all;  // no grants required: anything registered
  for (const Region& r : regions_.all()) all.push_back({r.id, 0, r.len});
  return all;
}

void CudaIpcAgent::on_release(const std::string& sender, const Message& m) {
  std::lock_guard lock(mu_);
  if (leases_.erase({sender, m.epoch}) != 0) inflight_.remove(m.epoch);
}

void CudaIpcAgent::on_notify(const std::string& sender, const Message& m) {
  std::lock_guard lock(mu_);
  auto link = in_.find(sender);
  if (link == in_.end()) return;
  auto g = granted_.find({sender, m.transfer_id});
  if (g == granted_.end()) {
    return inbound_.refuse(display_name(sender),
                           invalid_argument("cuda_ipc notification without granted ops"));
  }
  const uint64_t bytes = g->second.bytes;
  const uint64_t epoch = g->second.epoch;
  const Status refused = g->second.refused;
  granted_.erase(g);  // the copy is done: releases the pins
  const bool part = m.text.empty();
  // The last write of an epoch fails with the first refusal of its parts.
  Status status = part ? ok_status() : link->second.parts.take(m.epoch);
  if (status.ok()) status = refused;
  if (status.ok()) {
    status = inbound_.deliver(reinterpret_cast<uintptr_t>(&link->second),
                              {display_name(sender), m.epoch, m.text});
    if (InboundPolicy::is_offence(status)) inbound_.refuse(display_name(sender), status);
  }
  if (status.ok()) bytes_received_ += bytes;
  inflight_.remove(epoch);
  if (!part) {
    (void)send(link->second.link, status_message(Verb::kAck, m.transfer_id, status));
  } else if (!status.ok()) {
    if (Status full = link->second.parts.note(m.epoch, status); !full.ok()) {
      inbound_.refuse(display_name(sender), full);
      drop_sender(sender);
    }
  }
}

void CudaIpcAgent::on_cancel_message(const std::string& sender, const Message& m) {
  std::lock_guard lock(mu_);
  auto g = granted_.find({sender, m.transfer_id});
  if (g == granted_.end()) return;
  const uint64_t epoch = g->second.epoch;
  granted_.erase(g);
  inflight_.remove(epoch);
}

void CudaIpcAgent::drop_sender(const std::string& sender) {
  for (auto it = granted_.begin(); it != granted_.end();) {
    if (it->first.first != sender) {
      ++it;
      continue;
    }
    inflight_.remove(it->second.epoch);
    it = granted_.erase(it);
  }
  for (auto it = leases_.lower_bound({sender, 0}); it != leases_.end() && it->first == sender;) {
    inflight_.remove(it->second);
    it = leases_.erase(it);
  }
  in_.erase(sender);
  PD_LOG(INFO) << "kvtransfer cuda_ipc " << options_.name << ": sender '" << display_name(sender)
               << "' is gone; released what it held";
}

}  // namespace pdserve::kvtransfer::cuda_ipc
