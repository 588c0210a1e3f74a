// cuda_ipc backend, the sending half (control thread): maps a receiver's
// region table, starts each transfer's copies on its GO, sends the
// notification once the copy event has fired, completes on the ACK.
#include <cuda_runtime_api.h>

#include "kvtransfer/cuda_ipc_agent.h"
#include "kvtransfer/cuda_ipc_copy.h"
#include "kvtransfer/cuda_log.h"

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
  OutPeer& peer = *out_[it->second.peer_id];
  if (s.ok() && transfers_.cancel_requested(m.transfer_id)) {
    Message cancel;
    cancel.verb = Verb::kCancel;
    cancel.transfer_id = m.transfer_id;
    (void)send(peer.link, cancel);
    s = cancelled("transfer " + std::to_string(m.transfer_id) + " cancelled");
  }
  if (s.ok()) s = start_copy(m.transfer_id, it->second);
  if (s.ok()) return;
  transfers_.complete(m.transfer_id, s);
  jobs_.erase(it);
}

Status CudaIpcAgent::start_copy(uint64_t transfer_id, SendJob& job) {
  const OutPeer& peer = *out_[job.peer_id];
  std::vector<CopySpan> spans;
  spans.reserve(job.ops.size());
  uint64_t bytes = 0;
  for (size_t i = 0; i < job.ops.size(); ++i) {
    const WriteOp& op = job.ops[i];
    char* base = peer.mapping.region_base(op.remote_region);
    if (base == nullptr) {
      return not_found("transfer " + std::to_string(transfer_id) + ": remote region " +
                       std::to_string(op.remote_region) + " is not mapped");
    }
    spans.push_back({job.pins[i].data(), base + op.remote_offset, op.len});
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
  bytes_sent_ += bytes;
  return ok_status();
}

void CudaIpcAgent::poll_copies() {
  std::lock_guard lock(mu_);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    SendJob& job = it->second;
    const uint64_t id = it->first;
    const cudaError_t copy_err = job.stage == SendJob::Stage::kCopying
                                     ? cudaEventQuery(static_cast<cudaEvent_t>(job.done))
                                     : cudaErrorNotReady;
    if (copy_err == cudaErrorNotReady) {
      ++it;
      continue;
    }
    PD_KV_CUDA_LOG(cudaEventDestroy(static_cast<cudaEvent_t>(job.done)));
    job.done = nullptr;
    job.pins.clear();
    OutPeer& peer = *out_[job.peer_id];
    Message next;
    next.transfer_id = id;
    Status s = copy_err == cudaSuccess
                   ? peer.dead
                   : internal_error(std::string("cuda_ipc copy: ") + cudaGetErrorString(copy_err));
    if (s.ok() && transfers_.cancel_requested(id)) {
      next.verb = Verb::kCancel;
      (void)send(peer.link, next);
      s = cancelled("transfer " + std::to_string(id) + " cancelled");
    } else if (s.ok()) {
      next.verb = Verb::kNotify;
      next.epoch = job.epoch;
      next.text = std::move(job.notification);
      s = send(peer.link, next);
      if (s.ok()) {
        job.stage = SendJob::Stage::kAwaitAck;
        ++it;
        continue;
      }
    }
    transfers_.complete(id, s);
    it = jobs_.erase(it);
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
      copying = true;  // poll_copies fails it once the copy is off the stream
      ++it;
    } else {
      transfers_.complete(it->first, why);
      it = jobs_.erase(it);
    }
  }
  // Nothing may still be copying into the mappings when they close.
  if (copying) cudaStreamSynchronize(static_cast<cudaStream_t>(stream_));
  out_[peer_id]->mapping.close();
}

}  // namespace pdserve::kvtransfer::cuda_ipc
