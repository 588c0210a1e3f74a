// cuda_ipc backend, the sending half: maps a receiver's region table (control
// thread), starts each transfer's copies on its GO (or at post under a
// lease), sends the notification once the copy event has fired (completion
// thread), completes on the ACK (a part: once its notification is sent),
// keeps the leases the GOs of claims bring and sends their RELEASEs.
#include <cuda_runtime_api.h>

#include "common/base/cuda_log.h"
#include "kvtransfer/cuda_ipc_agent.h"
#include "kvtransfer/cuda_ipc_copy.h"
#include "kvtransfer/device_copy.h"

namespace pdserve::kvtransfer::cuda_ipc {

void CudaIpcAgent::on_regions(const std::string& receiver, const Message& m) {
  std::lock_guard lock(mu_);
  for (auto& [id, peer] : out_) {
    if (peer->control_name != receiver || peer->table != OutPeer::Table::kWaiting) continue;
    peer->table_status = peer->mapping.open(device_, m.text, m.device, m.regions);
    std::vector<RegionDesc> descs;
    for (const ExportedRegion& r : m.regions) descs.push_back({r.id, r.len, MemoryKind::kDevice});
    peer->regions = index_regions(descs);
    peer->table = peer->table_status.ok() ? OutPeer::Table::kReady : OutPeer::Table::kFailed;
  }
  table_changed_.notify_all();
}

void CudaIpcAgent::on_go(const Message& m) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(m.transfer_id);
  if (it == jobs_.end() || it->second.stage != SendJob::Stage::kAwaitGo) return;
  Status s = message_status(m);
  const uint64_t peer_id = it->second.peer_id;
  const uint64_t epoch = it->second.epoch;
  const bool claim = it->second.claim;
  OutPeer& peer = *out_[peer_id];
  if (s.ok() && transfers_.cancel_requested(m.transfer_id)) {
    s = cancelled("transfer " + std::to_string(m.transfer_id) + " cancelled");
  } else if (s.ok()) {
    s = start_copy(m.transfer_id, it->second);
  }
  if (!s.ok()) {
    // The receiver pinned the ops for the go: let them go.
    if (message_status(m).ok()) {
      (void)send(peer.link, status_message(Verb::kCancel, m.transfer_id, ok_status()));
    }
    transfers_.complete(m.transfer_id, s);
    jobs_.erase(it);
  }
  if (!claim) return;
  // After the claim's own copy, so that the writes that waited copy behind it.
  // A lease the GO brought is held (or released) even when this write
  // itself was cancelled.
  std::vector<GrantRange> lease;
  if (message_status(m).ok()) {
    for (const WriteOp& r : m.ops) lease.push_back({r.remote_region, r.remote_offset, r.len});
  }
  peer.leases.answered(epoch, lease);
  issue_waiting(peer_id, epoch);
  send_releases(peer_id);
}

Status CudaIpcAgent::start_copy(uint64_t transfer_id, SendJob& job) {
  const OutPeer& peer = *out_[job.peer_id];
  std::vector<CopySpan> spans;
  spans.reserve(job.ops.size());
  uint64_t bytes = 0;
  for (const WriteOp& op : job.ops) {
    char* base = peer.mapping.region_base(op.remote_region);
    if (base == nullptr) {
      return not_found("transfer " + std::to_string(transfer_id) + ": remote region " +
                       std::to_string(op.remote_region) + " is not mapped");
    }
    spans.push_back({pinned_address(job.pins, op.local_region, op.local_offset),
                     base + op.remote_offset, op.len});
    bytes += op.len;
  }
  PD_RETURN_IF_ERROR(enqueue_copies(spans, stream_));
  cudaEvent_t done = nullptr;
  if (cudaError_t err = cudaEventCreateWithFlags(&done, cudaEventDisableTiming);
      err != cudaSuccess) {
    return internal_error(std::string("cuda_ipc cudaEventCreate: ") + cudaGetErrorString(err));
  }
  cudaEventRecord(done, static_cast<cudaStream_t>(stream_));
  job.done = done;
  job.stage = SendJob::Stage::kCopying;
  copying_.push_back(transfer_id);
  copy_started_.notify_one();
  bytes_sent_ += bytes;
  return ok_status();
}

void CudaIpcAgent::completion_loop() {
  (void)use_device(device_);
  std::unique_lock lock(mu_);
  while (true) {
    copy_started_.wait(lock, [&] { return stop_ || !copying_.empty(); });
    if (copying_.empty()) return;  // stopping, and no copy left on the stream
    const uint64_t id = copying_.front();
    auto done = static_cast<cudaEvent_t>(jobs_.at(id).done);
    lock.unlock();
    // The device's default (automatic) schedule spins here while the copy
    // runs, given a core per context: the copy's end is seen at once, where
    // polling with a sleep saw it up to ~60 us late (docs/PERFORMANCE.md).
    const cudaError_t err = cudaEventSynchronize(done);
    lock.lock();
    copying_.pop_front();
    finish_copy(id, err == cudaSuccess
                        ? ok_status()
                        : internal_error(std::string("cuda_ipc copy: ") + cudaGetErrorString(err)));
  }
}

void CudaIpcAgent::finish_copy(uint64_t id, const Status& copy_status) {
  SendJob& job = jobs_.at(id);
  PD_CUDA_LOG(cudaEventDestroy(static_cast<cudaEvent_t>(job.done)));
  job.done = nullptr;
  job.pins.clear();
  const uint64_t peer_id = job.peer_id;
  OutPeer& peer = *out_[peer_id];
  Message next;
  next.transfer_id = id;
  Status s = copy_status.ok() ? peer.dead : copy_status;
  if (s.ok() && transfers_.cancel_requested(id)) {
    next.verb = Verb::kCancel;
    (void)send(peer.link, next);
    s = cancelled("transfer " + std::to_string(id) + " cancelled");
  } else if (s.ok()) {
    next.verb = Verb::kNotify;
    next.epoch = job.epoch;
    next.text = std::move(job.notification);
    s = send(peer.link, next);
    if (s.ok() && !job.part) job.stage = SendJob::Stage::kAwaitAck;
  }
  if (job.stage != SendJob::Stage::kAwaitAck) {
    transfers_.complete(id, s);
    jobs_.erase(id);
  }
  send_releases(peer_id);
}

void CudaIpcAgent::on_revoke(const std::string& receiver, const Message& m) {
  std::lock_guard lock(mu_);
  for (auto& [peer_id, peer] : out_) {
    if (peer->control_name == receiver && peer->leases.revoke(m.epoch)) send_releases(peer_id);
  }
}

void CudaIpcAgent::send_releases(uint64_t peer_id) {
  OutPeer& peer = *out_[peer_id];
  const std::set<uint64_t> releasing = peer.leases.releasing();
  for (uint64_t epoch : releasing) {
    bool copying = false;
    for (const auto& [id, job] : jobs_) {
      copying |=
          job.peer_id == peer_id && job.epoch == epoch && job.stage == SendJob::Stage::kCopying;
    }
    if (copying) continue;  // its NOTIFY goes first
    Message release;
    release.verb = Verb::kRelease;
    release.epoch = epoch;
    (void)send(peer.link, release);  // a dead link: the receiver drops us and what we held
    peer.leases.released(epoch);
  }
}

void CudaIpcAgent::on_ack(const Message& m) {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(m.transfer_id);
  if (it == jobs_.end() || it->second.stage != SendJob::Stage::kAwaitAck) return;
  transfers_.complete(m.transfer_id, message_status(m));
  jobs_.erase(it);
}

void CudaIpcAgent::fail_peer_jobs(uint64_t peer_id, const Status& why) {
  bool copying = false;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->second.peer_id != peer_id) {
      ++it;
    } else if (it->second.stage == SendJob::Stage::kCopying) {
      copying = true;  // finish_copy fails it once the copy is off the stream
      ++it;
    } else {
      transfers_.complete(it->first, why);
      it = jobs_.erase(it);
    }
  }
  // Nothing may still be copying into the mappings when they close.
  if (copying) cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  out_[peer_id]->mapping.close();
  out_[peer_id]->leases.clear();
}

}  // namespace pdserve::kvtransfer::cuda_ipc
