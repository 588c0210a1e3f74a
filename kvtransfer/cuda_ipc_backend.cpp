// cuda_ipc backend: the agent's life, its public calls and the control
// thread's loop (cuda_ipc_agent.h). The receiving and sending halves of the
// protocol are in cuda_ipc_receiver.cpp and cuda_ipc_sender.cpp.
#include <cuda_runtime_api.h>

#include "common/base/cuda_log.h"
#include "common/base/logging.h"
#include "kvtransfer/backends.h"
#include "kvtransfer/cuda_ipc_agent.h"
#include "kvtransfer/device_copy.h"
#include "kvtransfer/peer_auth.h"

namespace pdserve::kvtransfer {
namespace cuda_ipc {
namespace {

// A peer with outstanding work is probed this often.
constexpr auto kProbeInterval = std::chrono::milliseconds(100);

Status cuda_error(const char* what, cudaError_t err) {
  return internal_error(std::string("cuda_ipc ") + what + ": " + cudaGetErrorString(err));
}

}  // namespace

std::string display_name(const std::string& control_name) {
  return control_name.substr(0, control_name.rfind('#'));
}

Status CudaIpcAgent::start() {
  if (!device_memory_supported()) return unavailable("cuda_ipc needs a CUDA device");
  device_ = options_.device;
  if (device_ < 0 && cudaGetDevice(&device_) != cudaSuccess) device_ = 0;
  PD_RETURN_IF_ERROR(use_device(device_));
  boot_id_ = machine_boot_id();
  PD_ASSIGN_OR_RETURN(pci_bus_id_, device_pci_bus_id(device_));
  cudaStream_t stream = nullptr;
  if (cudaError_t err = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
      err != cudaSuccess) {
    return cuda_error("cudaStreamCreateWithFlags", err);
  }
  stream_ = stream;
  AgentOptions c = options_;
  c.backend = BackendKind::kTcp;
  c.compat_key = options_.compat_key + "/cuda_ipc-control";
  // Unique, so that peers tell apart agents of one name (every prefill
  // worker is "prefill").
  PD_ASSIGN_OR_RETURN(std::string nonce, make_nonce());
  c.name = options_.name + "#" + hex_encode(nonce.substr(0, 8));
  c.fail_every_n = 0;  // created directly: PDSERVE_KV_FAULT_EVERY_N is for the data path
  c.require_grants = true;
  PD_ASSIGN_OR_RETURN(ctrl_, create_tcp_agent(c));
  PD_ASSIGN_OR_RETURN(mailbox_id_, ctrl_->register_region(&mailbox_, 1, MemoryKind::kHost));
  // Control messages are notifications of epoch 0 over a 1-byte write into
  // the mailbox, from any authenticated peer.
  PD_RETURN_IF_ERROR(ctrl_->grant(0, {{mailbox_id_, 0, 1}}, GrantScope::kAnyPeer));
  thread_ = std::thread([this] { control_loop(); });
  completer_ = std::thread([this] { completion_loop(); });
  return ok_status();
}

CudaIpcAgent::~CudaIpcAgent() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  copy_started_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (completer_.joinable()) completer_.join();  // after the copies on the stream
  (void)use_device(device_);
  std::lock_guard lock(mu_);
  if (stream_ != nullptr) PD_CUDA_LOG(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)));
  for (auto& [id, job] : jobs_) {
    if (job.done != nullptr) PD_CUDA_LOG(cudaEventDestroy(static_cast<cudaEvent_t>(job.done)));
    transfers_.complete(id, cancelled("agent shut down"));
  }
  jobs_.clear();
  granted_.clear();
  out_.clear();  // closes every mapping
  if (stream_ != nullptr) PD_CUDA_LOG(cudaStreamDestroy(static_cast<cudaStream_t>(stream_)));
  ctrl_.reset();
}

Status CudaIpcAgent::on_register(Region* region) {
  if (region->kind != MemoryKind::kDevice) {
    return unimplemented(
        "cuda_ipc moves device memory only; host regions take tcp or ucx (--kv-backend auto)");
  }
  PD_RETURN_IF_ERROR(use_device(device_));
  return export_region(0, region->addr, region->len).status();
}

std::string CudaIpcAgent::metadata() const {
  AgentMetadata md;
  md.backend = BackendKind::kCudaIpc;
  md.name = options_.name;
  md.compat_key = options_.compat_key;
  md.address = ctrl_->metadata();
  md.regions = regions_.describe();  // ids and lengths; the handles go over the control channel
  return md.serialize();
}

Result<uint64_t> CudaIpcAgent::connect(std::string_view peer_metadata) {
  PD_ASSIGN_OR_RETURN(AgentMetadata md, AgentMetadata::parse(peer_metadata));
  PD_RETURN_IF_ERROR(check_compatible(md, BackendKind::kCudaIpc, options_.compat_key));
  PD_ASSIGN_OR_RETURN(AgentMetadata ctrl_md, AgentMetadata::parse(md.address));
  if (ctrl_md.regions.empty()) return invalid_argument("cuda_ipc metadata lacks a control mailbox");
  // Authenticates both ways (cluster token, compat key) before anything else.
  PD_ASSIGN_OR_RETURN(uint64_t ctrl_peer, ctrl_->connect(md.address));
  std::unique_lock lock(mu_);
  uint64_t id = 0;
  for (auto& [peer_id, peer] : out_) {
    if (peer->control_name == ctrl_md.name && peer->dead.ok()) id = peer_id;
  }
  if (id == 0) {
    id = next_peer_id_++;
    out_[id] = std::make_unique<OutPeer>();
    out_[id]->name = md.name;
    out_[id]->control_name = ctrl_md.name;
  }
  OutPeer& peer = *out_[id];
  peer.link = {ctrl_peer, ctrl_md.regions[0].id};
  peer.table = OutPeer::Table::kWaiting;
  Message hello;
  hello.verb = Verb::kHello;
  hello.text = ctrl_->metadata();
  PD_RETURN_IF_ERROR(send(peer.link, hello));
  const bool answered = table_changed_.wait_for(lock, options_.connect_timeout, [&] {
    return peer.table != OutPeer::Table::kWaiting || !peer.dead.ok();
  });
  if (!answered) return deadline_exceeded("cuda_ipc: '" + md.name + "' sent no region table");
  if (!peer.dead.ok()) return peer.dead;
  if (peer.table == OutPeer::Table::kFailed) return peer.table_status;
  return id;
}

Result<uint64_t> CudaIpcAgent::post_write(uint64_t peer_id, std::vector<WriteOp> ops,
                                          std::string notification, uint64_t epoch) {
  std::lock_guard lock(mu_);
  auto it = out_.find(peer_id);
  if (it == out_.end() || it->second->table != OutPeer::Table::kReady) {
    return not_found("peer " + std::to_string(peer_id) + " is unknown");
  }
  OutPeer& peer = *it->second;
  if (!peer.dead.ok()) return unavailable("peer '" + peer.name + "': " + peer.dead.message());
  PD_RETURN_IF_ERROR(check_ops(ops, peer.regions, notification));
  const uint64_t id = transfers_.create(peer_id);
  std::vector<WriteOp> merged = coalesce_ops(ops);
  std::vector<GrantRange> local;
  local.reserve(merged.size());
  for (const WriteOp& op : merged) local.push_back({op.local_region, op.local_offset, op.len});
  Result<std::vector<RegionPin>> pins = regions_.pin_hulls(local, id);
  if (!pins.ok()) {
    const Status s = pins.status().with_context("local");
    transfers_.complete(id, s);
    return s;
  }
  // The fault injector fails a transfer before any op is sent.
  if (const int64_t fail_idx = fault_index(ops.size()); fail_idx >= 0) {
    transfers_.complete(id, injected_fault(static_cast<uint64_t>(fail_idx)));
    return id;
  }
  SendJob& job = jobs_[id];
  job.peer_id = peer_id;
  job.ops = std::move(merged);
  job.pins = std::move(pins).value();
  job.part = notification.empty();
  job.notification = std::move(notification);
  job.epoch = epoch;
  issue(id);
  send_releases(peer_id);
  return id;
}

void CudaIpcAgent::issue(uint64_t id) {
  SendJob& job = jobs_[id];
  OutPeer& peer = *out_[job.peer_id];
  if (transfers_.cancel_requested(id)) {  // it waited for a claim
    transfers_.complete(id, cancelled("transfer " + std::to_string(id) + " cancelled"));
    jobs_.erase(id);
    return;
  }
  const EpochLeases::Use use = peer.leases.use(job.epoch, job.ops, !job.part);
  if (use == EpochLeases::Use::kWait) {
    job.stage = SendJob::Stage::kAwaitLease;
    return;
  }
  Message m;
  m.verb = use == EpochLeases::Use::kLeased  ? Verb::kLeased
           : use == EpochLeases::Use::kClaim ? Verb::kClaim
                                             : Verb::kOps;
  m.transfer_id = id;
  m.epoch = job.epoch;
  m.ops = job.ops;
  job.claim = use == EpochLeases::Use::kClaim;
  job.stage = SendJob::Stage::kAwaitGo;
  Status s = send(peer.link, m);
  // Leased: the op list is on its way ahead of the copy.
  if (s.ok() && use == EpochLeases::Use::kLeased) {
    s = use_device(device_);
    if (s.ok()) s = start_copy(id, job);
    if (!s.ok()) {  // the receiver pinned the announced ops: let them go
      (void)send(peer.link, status_message(Verb::kCancel, id, ok_status()));
    }
  }
  if (s.ok()) return;
  if (job.claim) peer.leases.answered(job.epoch, {});  // the waiting writes ask use() again
  transfers_.complete(id, s);
  jobs_.erase(id);
}

void CudaIpcAgent::issue_waiting(uint64_t peer_id, uint64_t epoch) {
  std::vector<uint64_t> waiting;
  for (const auto& [id, job] : jobs_) {
    if (job.peer_id == peer_id && job.epoch == epoch && job.stage == SendJob::Stage::kAwaitLease) {
      waiting.push_back(id);
    }
  }
  for (uint64_t id : waiting) issue(id);  // in order: one may claim again, the rest wait for it
}

void CudaIpcAgent::fence_epoch(uint64_t epoch) {
  AgentCore::fence_epoch(epoch);  // from now on no claim of it is answered with a lease
  {
    std::lock_guard lock(mu_);
    Message revoke;
    revoke.verb = Verb::kRevoke;
    revoke.epoch = epoch;
    for (const auto& [sender, leased] : leases_) {
      auto link = in_.find(sender);
      if (leased == epoch && link != in_.end()) (void)send(link->second.link, revoke);
    }
  }
  // Until the senders' RELEASEs (or their death) for leases, the NOTIFY or
  // CANCEL for op lists.
  if (!inflight_.wait_out(epoch, std::chrono::seconds(2))) {
    PD_LOG(WARN) << "kvtransfer cuda_ipc " << options_.name << ": a write of fenced epoch " << epoch
                 << " still in flight after 2 s";
  }
}

uint64_t CudaIpcAgent::peers_refused() const {
  return AgentCore::peers_refused() + ctrl_->peers_refused();
}

Status CudaIpcAgent::send(const ControlLink& link, const Message& m) {
  const std::string bytes = encode(m);
  if (bytes.size() > kMaxMessageLen || m.ops.size() > kMaxOps) {
    return invalid_argument("cuda_ipc: " + std::to_string(m.ops.size()) +
                            " ops do not fit one control message");
  }
  for (std::string& piece : fragment(bytes)) {
    Result<uint64_t> r = ctrl_->post_write(
        link.ctrl_peer, {{mailbox_id_, 0, link.ctrl_region, 0, 1}}, std::move(piece), 0);
    if (!r.ok()) return unavailable("cuda_ipc control channel: " + r.status().message());
  }
  return ok_status();
}

void CudaIpcAgent::control_loop() {
  (void)use_device(device_);
  auto next_probe = std::chrono::steady_clock::now() + kProbeInterval;
  while (!stop_) {
    // Copies end on the completion thread: this one sleeps on the queue.
    if (Result<Notification> note = ctrl_->wait_notification(std::chrono::milliseconds(1));
        note.ok()) {
      dispatch(*note);
    }
    if (std::chrono::steady_clock::now() >= next_probe) {
      probe_peers();
      next_probe = std::chrono::steady_clock::now() + kProbeInterval;
    }
  }
}

void CudaIpcAgent::dispatch(const Notification& note) {
  Result<std::string> whole = reassembly_[note.peer_name].add(note.payload);
  if (whole.ok() && whole->empty()) return;  // more fragments follow
  Result<Message> m = whole.ok() ? decode(*whole) : Result<Message>(whole.status());
  if (!m.ok()) return inbound_.refuse(display_name(note.peer_name), m.status());
  switch (m->verb) {
    case Verb::kHello: return on_hello(note.peer_name, *m);
    case Verb::kRegions: return on_regions(note.peer_name, *m);
    case Verb::kOps:
    case Verb::kClaim:
    case Verb::kLeased: return on_ops(note.peer_name, *m);
    case Verb::kRelease: return on_release(note.peer_name, *m);
    case Verb::kGo: return on_go(*m);
    case Verb::kRevoke: return on_revoke(note.peer_name, *m);
    case Verb::kNotify: return on_notify(note.peer_name, *m);
    case Verb::kCancel: return on_cancel_message(note.peer_name, *m);
    case Verb::kAck: return on_ack(*m);
    case Verb::kPing: return;
  }
}

void CudaIpcAgent::probe_peers() {
  std::lock_guard lock(mu_);
  Message ping;
  ping.verb = Verb::kPing;
  for (auto& [peer_id, peer] : out_) {
    bool busy = false;
    for (const auto& [id, job] : jobs_) busy |= job.peer_id == peer_id;
    if (!busy || !peer->dead.ok()) continue;
    if (Status s = send(peer->link, ping); !s.ok()) {
      peer->dead = unavailable("receiver '" + peer->name + "' is gone: " + s.message());
      fail_peer_jobs(peer_id, peer->dead);
    }
  }
  std::vector<std::string> gone;
  for (auto& [sender, link] : in_) {
    bool busy = false;
    for (const auto& [key, g] : granted_) busy |= key.first == sender;
    for (const GrantKey& key : leases_) busy |= key.first == sender;
    if (busy && !send(link.link, ping).ok()) gone.push_back(sender);
  }
  for (const std::string& sender : gone) drop_sender(sender);
}

}  // namespace cuda_ipc

Result<std::unique_ptr<Agent>> create_cuda_ipc_agent(const AgentOptions& options) {
  auto agent = std::make_unique<cuda_ipc::CudaIpcAgent>(options);
  PD_RETURN_IF_ERROR(agent->start());
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace pdserve::kvtransfer
