// nccl backend: device-to-device writes between processes on different GPUs.
// Data moves with ncclSend / ncclRecv (one group per transfer) on a
// two-rank communicator per (sender, receiver) pair; the receiver has to post
// the matching ncclRecv calls, so the op list travels ahead of the data over
// a control channel, which is a tcp Agent (the tcp backend's plumbing; each
// control message is a tcp notification). Control messages:
//
//   sender → receiver   H <uid hex> <sender control metadata hex>   (connect)
//   sender → receiver   O <transfer> <epoch> <last 0|1> (<region> <offset> <len>)*
//   sender → receiver   N <transfer> <epoch> <payload hex>   after the sends completed
//   sender → receiver   C <transfer>                          cancelled: no notification
//   receiver → sender   A <transfer> <status code> <message hex>
//
// The control channel authenticates like any tcp agent (cluster token).
// The receiver checks every op (fenced epoch, grants, region, bounds) before it posts
// the ncclRecv; a refused op is received into scratch device memory, never
// into the region, and the ACK carries the refusal. The ncclUniqueId travels
// in the receiver's metadata (`extra`); each connect consumes it and the next
// metadata() carries a fresh one. Regions must be device memory. The fault
// injector fails a transfer before any op is sent. UNTESTED at runtime on
// this machine (no GPU); its test needs two GPUs.
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/base/logging.h"
#include "kvtransfer/agent_core.h"
#include "kvtransfer/backends.h"
#include "kvtransfer/inbound_ops.h"

namespace pdserve::kvtransfer {
namespace {

Status nccl_status(const char* what, ncclResult_t r) {
  if (r == ncclSuccess) return ok_status();
  return unavailable(std::string(what) + ": " + ncclGetErrorString(r));
}

Status cuda_status(const char* what, cudaError_t e) {
  if (e == cudaSuccess) return ok_status();
  return internal_error(std::string(what) + ": " + cudaGetErrorString(e));
}

struct NcclLink {  // one communicator with one peer, either direction
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  uint64_t ctrl_peer = 0;    // control channel peer id
  uint64_t ctrl_region = 0;  // the peer's control mailbox region
  std::string name;
};

struct SendJob {
  uint64_t id = 0;
  NcclLink* link = nullptr;
  std::vector<RegionPin> pins;
  cudaEvent_t done = nullptr;
  std::string notification;
  uint64_t epoch = 0;
};

struct RecvJob {
  NcclLink* link = nullptr;
  uint64_t transfer_id = 0;
  uint64_t epoch = 0;
  std::vector<WriteOp> ops;  // remote_* fields name our regions
  std::vector<RegionPin> pins;
  std::vector<void*> scratch;
  cudaEvent_t done = nullptr;
  Status refused;
};

class NcclAgent final : public AgentCore {
 public:
  explicit NcclAgent(const AgentOptions& options) : AgentCore(options) {}
  ~NcclAgent() override;
  Status start();
  std::string metadata() const override;
  Result<uint64_t> connect(std::string_view peer_metadata) override;
  Result<uint64_t> post_write(uint64_t peer_id, std::vector<WriteOp> ops, std::string notification,
                              uint64_t epoch) override;

 protected:
  Status on_register(Region* region) override;

 private:
  void control_loop();
  void handle(const Notification& msg);
  void send_control(const NcclLink& link, const std::string& msg);
  void post_recv(RecvJob job);
  void poll_jobs();
  Status init_link(NcclLink* link, const ncclUniqueId& uid, int rank);

  std::unique_ptr<Agent> ctrl_;
  char mailbox_ = 0;
  uint64_t mailbox_id_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  mutable ncclUniqueId next_uid_{};
  std::map<uint64_t, std::unique_ptr<NcclLink>> out_;  // peer id -> link (we send)
  std::map<uint64_t, RemoteRegions> remote_;
  std::map<std::string, std::unique_ptr<NcclLink>> in_;  // sender name -> link (we receive)
  std::map<std::pair<std::string, uint64_t>, RecvJob> assembling_;
  std::vector<RecvJob> receiving_;
  std::map<std::pair<std::string, uint64_t>, std::string> early_notes_;  // N before recv done
  std::vector<SendJob> sending_;
  uint64_t next_peer_id_ = 1;
};

Status NcclAgent::start() {
  if (options_.device < 0) return invalid_argument("nccl backend needs AgentOptions::device");
  PD_RETURN_IF_ERROR(cuda_status("cudaSetDevice", cudaSetDevice(options_.device)));
  PD_RETURN_IF_ERROR(nccl_status("ncclGetUniqueId", ncclGetUniqueId(&next_uid_)));
  AgentOptions c = options_;
  c.backend = BackendKind::kTcp;
  c.compat_key = options_.compat_key + "/nccl-control";
  c.fail_every_n = 0;
  PD_ASSIGN_OR_RETURN(ctrl_, Agent::create(c));
  PD_ASSIGN_OR_RETURN(mailbox_id_, ctrl_->register_region(&mailbox_, 1, MemoryKind::kHost));
  // Control messages are notifications of epoch 0 over a 1-byte write into the
  // mailbox, from any authenticated sender.
  PD_RETURN_IF_ERROR(ctrl_->grant(0, {{mailbox_id_, 0, 1}}, GrantScope::kAnyPeer));
  thread_ = std::thread([this] { control_loop(); });
  return ok_status();
}

NcclAgent::~NcclAgent() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (auto& [id, l] : out_) {
    if (l->comm != nullptr) ncclCommAbort(l->comm);
  }
  for (auto& [name, l] : in_) {
    if (l->comm != nullptr) ncclCommAbort(l->comm);
  }
}

Status NcclAgent::on_register(Region* region) {
  if (region->kind != MemoryKind::kDevice) {
    return unimplemented("nccl backend moves device memory only");
  }
  return ok_status();
}

std::string NcclAgent::metadata() const {
  AgentMetadata md;
  md.backend = BackendKind::kNccl;
  md.name = options_.name;
  md.compat_key = options_.compat_key;
  md.address = ctrl_->metadata();
  {
    std::lock_guard lock(mu_);
    md.extra.assign(next_uid_.internal, sizeof(next_uid_.internal));
  }
  md.regions = regions_.describe();
  return md.serialize();
}

Status NcclAgent::init_link(NcclLink* link, const ncclUniqueId& uid, int rank) {
  PD_RETURN_IF_ERROR(cuda_status("cudaSetDevice", cudaSetDevice(options_.device)));
  PD_RETURN_IF_ERROR(cuda_status("cudaStreamCreate",
                                 cudaStreamCreateWithFlags(&link->stream, cudaStreamNonBlocking)));
  return nccl_status("ncclCommInitRank", ncclCommInitRank(&link->comm, 2, uid, rank));
}

Result<uint64_t> NcclAgent::connect(std::string_view peer_metadata) {
  PD_ASSIGN_OR_RETURN(AgentMetadata md, AgentMetadata::parse(peer_metadata));
  PD_RETURN_IF_ERROR(check_compatible(md, BackendKind::kNccl, options_.compat_key));
  if (md.extra.size() != sizeof(ncclUniqueId::internal))
    return invalid_argument("nccl metadata lacks a unique id");
  PD_ASSIGN_OR_RETURN(AgentMetadata ctrl_md, AgentMetadata::parse(md.address));
  if (ctrl_md.regions.empty()) return invalid_argument("nccl metadata lacks a control mailbox");
  auto link = std::make_unique<NcclLink>();
  link->name = md.name;
  PD_ASSIGN_OR_RETURN(link->ctrl_peer, ctrl_->connect(md.address));
  link->ctrl_region = ctrl_md.regions[0].id;
  ncclUniqueId uid;
  std::memcpy(uid.internal, md.extra.data(), sizeof(uid.internal));
  send_control(*link, "H " + hex_encode(md.extra) + " " + hex_encode(ctrl_->metadata()));
  PD_RETURN_IF_ERROR(init_link(link.get(), uid, 0));  // blocks until the receiver joins
  std::lock_guard lock(mu_);
  uint64_t id = next_peer_id_++;
  out_[id] = std::move(link);
  remote_[id] = index_regions(md.regions);
  return id;
}

void NcclAgent::send_control(const NcclLink& link, const std::string& msg) {
  auto id = ctrl_->post_write(link.ctrl_peer, {{mailbox_id_, 0, link.ctrl_region, 0, 1}}, msg, 0);
  if (!id.ok())
    PD_LOG(WARN) << "kvtransfer nccl " << options_.name << ": control: " << id.status().to_string();
}

Result<uint64_t> NcclAgent::post_write(uint64_t peer_id, std::vector<WriteOp> ops,
                                       std::string notification, uint64_t epoch) {
  std::lock_guard lock(mu_);
  auto it = out_.find(peer_id);
  if (it == out_.end()) return not_found("peer " + std::to_string(peer_id) + " is unknown");
  PD_RETURN_IF_ERROR(check_ops(ops, remote_[peer_id], notification));
  NcclLink* link = it->second.get();
  SendJob job;
  job.id = transfers_.create(peer_id);
  job.link = link;
  Result<std::vector<RegionPin>> pins = pin_local(ops, job.id);
  if (!pins.ok()) {
    transfers_.complete(job.id, pins.status());
    return pins.status();
  }
  if (int64_t fail = fault_index(ops.size()); fail >= 0) {
    transfers_.complete(job.id, injected_fault(static_cast<uint64_t>(fail)));
    return job.id;
  }
  job.pins = std::move(pins).value();
  job.notification = std::move(notification);
  job.epoch = epoch;
  constexpr size_t kOpsPerMessage = 40;  // keeps a control message under kMaxNotificationLen
  for (size_t i = 0; i < ops.size(); i += kOpsPerMessage) {
    std::ostringstream msg;
    size_t end = std::min(ops.size(), i + kOpsPerMessage);
    msg << "O " << job.id << " " << epoch << " " << (end == ops.size() ? 1 : 0);
    for (size_t k = i; k < end; ++k)
      msg << " " << ops[k].remote_region << " " << ops[k].remote_offset << " " << ops[k].len;
    send_control(*link, msg.str());
  }
  Status s = cuda_status("cudaSetDevice", cudaSetDevice(options_.device));
  if (s.ok()) s = nccl_status("ncclGroupStart", ncclGroupStart());
  for (size_t k = 0; s.ok() && k < ops.size(); ++k) {
    s = nccl_status("ncclSend", ncclSend(job.pins[k].data(), ops[k].len, ncclUint8, 1, link->comm,
                                         link->stream));
    bytes_sent_ += ops[k].len;
  }
  if (s.ok()) s = nccl_status("ncclGroupEnd", ncclGroupEnd());
  if (s.ok())
    s = cuda_status("cudaEventCreate", cudaEventCreateWithFlags(&job.done, cudaEventDisableTiming));
  if (s.ok()) s = cuda_status("cudaEventRecord", cudaEventRecord(job.done, link->stream));
  if (!s.ok()) {
    transfers_.complete(job.id, s);
    return job.id;
  }
  uint64_t id = job.id;
  sending_.push_back(std::move(job));
  return id;
}

void NcclAgent::control_loop() {
  while (!stop_) {
    auto msg = ctrl_->wait_notification(std::chrono::milliseconds(1));
    if (msg.ok()) handle(*msg);
    poll_jobs();
  }
}

void NcclAgent::handle(const Notification& msg) {
  std::istringstream in(msg.payload);
  std::string verb;
  in >> verb;
  std::lock_guard lock(mu_);
  if (verb == "H") {
    std::string uid_hex, md_hex;
    in >> uid_hex >> md_hex;
    auto uid_bytes = hex_decode(uid_hex);
    auto md_text = hex_decode(md_hex);
    if (!uid_bytes.ok() || !md_text.ok() || uid_bytes->size() != sizeof(ncclUniqueId::internal))
      return;
    auto ctrl_md = AgentMetadata::parse(*md_text);
    auto back = ctrl_->connect(*md_text);
    if (!ctrl_md.ok() || !back.ok() || ctrl_md->regions.empty()) return;
    auto link = std::make_unique<NcclLink>();
    link->name = msg.peer_name;
    link->ctrl_peer = *back;
    link->ctrl_region = ctrl_md->regions[0].id;
    ncclUniqueId uid;
    std::memcpy(uid.internal, uid_bytes->data(), sizeof(uid.internal));
    Status s = init_link(link.get(), uid, 1);
    if (!s.ok()) {
      PD_LOG(WARN) << "kvtransfer nccl " << options_.name << ": " << s.to_string();
      return;
    }
    ncclGetUniqueId(&next_uid_);  // the id in our metadata is used up
    in_[msg.peer_name] = std::move(link);
    return;
  }
  auto link_it = in_.find(msg.peer_name);
  if (verb == "O" && link_it != in_.end()) {
    uint64_t id, epoch, last;
    in >> id >> epoch >> last;
    RecvJob& job = assembling_[{msg.peer_name, id}];
    job.link = link_it->second.get();
    job.transfer_id = id;
    job.epoch = epoch;
    WriteOp op;
    while (in >> op.remote_region >> op.remote_offset >> op.len) job.ops.push_back(op);
    if (last == 1) {
      RecvJob ready = std::move(job);
      assembling_.erase({msg.peer_name, id});
      post_recv(std::move(ready));
    }
  } else if (verb == "N" || verb == "C") {
    uint64_t id;
    in >> id;
    early_notes_[{msg.peer_name, id}] = msg.payload;
  } else if (verb == "A") {
    uint64_t id, code;
    std::string text_hex;
    in >> id >> code >> text_hex;
    auto text = hex_decode(text_hex);
    auto sc = static_cast<StatusCode>(code);
    transfers_.complete(id,
                        sc == StatusCode::kOk ? ok_status() : Status(sc, text.ok() ? *text : ""));
  }
}

void NcclAgent::post_recv(RecvJob job) {
  cudaSetDevice(options_.device);
  CheckedOps checked = check_inbound_ops(inbound_, regions_, reinterpret_cast<uintptr_t>(job.link),
                                         job.link->name, job.epoch, job.ops);
  job.refused = std::move(checked.refused);
  job.pins = std::move(checked.pins);
  std::vector<void*> dst;
  if (job.refused.ok()) {
    for (RegionPin& pin : job.pins) dst.push_back(pin.data());
  } else {
    // Nothing lands in a region of a refused transfer; the bytes still must be received.
    for (const WriteOp& op : job.ops) {
      void* scratch = nullptr;
      if (cudaMalloc(&scratch, op.len) != cudaSuccess) scratch = nullptr;
      job.scratch.push_back(scratch);
      dst.push_back(scratch);
    }
  }
  ncclGroupStart();
  for (size_t k = 0; k < job.ops.size(); ++k) {
    ncclRecv(dst[k], job.ops[k].len, ncclUint8, 0, job.link->comm, job.link->stream);
  }
  ncclGroupEnd();
  cudaEventCreateWithFlags(&job.done, cudaEventDisableTiming);
  cudaEventRecord(job.done, job.link->stream);
  receiving_.push_back(std::move(job));
}

void NcclAgent::poll_jobs() {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < sending_.size();) {
    SendJob& job = sending_[i];
    if (cudaEventQuery(job.done) == cudaErrorNotReady) {
      ++i;
      continue;
    }
    cudaEventDestroy(job.done);
    job.pins.clear();
    if (transfers_.cancel_requested(job.id)) {
      send_control(*job.link, "C " + std::to_string(job.id));
      transfers_.complete(job.id, cancelled("transfer " + std::to_string(job.id) + " cancelled"));
    } else {
      send_control(*job.link, "N " + std::to_string(job.id) + " " + std::to_string(job.epoch) +
                                  " " + hex_encode(job.notification));
    }
    sending_.erase(sending_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  for (size_t i = 0; i < receiving_.size();) {
    RecvJob& job = receiving_[i];
    auto key = std::make_pair(job.link->name, job.transfer_id);
    auto note = early_notes_.find(key);
    if (note == early_notes_.end() || cudaEventQuery(job.done) == cudaErrorNotReady) {
      ++i;
      continue;
    }
    cudaEventDestroy(job.done);
    for (void* p : job.scratch) cudaFree(p);
    job.pins.clear();
    std::istringstream in(note->second);
    std::string verb, payload_hex;
    uint64_t id = 0, epoch = 0;
    in >> verb >> id >> epoch >> payload_hex;
    early_notes_.erase(note);
    if (verb == "N") {
      Status status = job.refused;
      auto payload = hex_decode(payload_hex);
      if (status.ok()) {
        status = inbound_.deliver(reinterpret_cast<uintptr_t>(job.link),
                                  {job.link->name, epoch, payload.ok() ? *payload : ""});
        if (InboundPolicy::is_offence(status)) inbound_.refuse(job.link->name, status);
      }
      if (status.ok()) {
        for (const WriteOp& op : job.ops) bytes_received_ += op.len;
      }
      send_control(*job.link, "A " + std::to_string(id) + " " +
                                  std::to_string(static_cast<int>(status.code())) + " " +
                                  hex_encode(status.message()));
    }
    receiving_.erase(receiving_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

}  // namespace

Result<std::unique_ptr<Agent>> create_nccl_agent(const AgentOptions& options) {
  auto agent = std::make_unique<NcclAgent>(options);
  PD_RETURN_IF_ERROR(agent->start());
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace pdserve::kvtransfer
