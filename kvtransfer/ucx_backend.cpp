// ucx backend: one ucp context + worker per agent, driven by one progress
// thread that makes every worker call (callers hand it closures and wake it
// with ucp_worker_signal). The worker address and the packed rkey of every
// region travel in the metadata. Two protocols (see Protocol below):
//
//   am (default):  ucp_am_send_nbx DATA per op (≤ kMaxInflightOps in flight)
//                    → receiver checks region/bounds/epoch, receives into the
//                      region (rendezvous) or into scratch when refused
//                  → ucp_am_send_nbx NOTIFY (eager, reply ep; carries the op
//                    count; delivered once that many ops have landed)
//   put:           ucp_put_nbx per op (batches of kPutBatch)
//                  → ucp_ep_flush_nbx (all puts remotely complete)
//                  → ucp_am_send_nbx NOTIFY
//   both:          receiver queues the notification (unless fenced) and sends
//                  ACK → kDone, or kFailed with the receiver's reason.
//
// Cancel and the fault injector take effect between batches; in-flight ops
// are waited out (flush / send completions) before the transfer ends, so no
// UCX operation reads local memory after it left kPending (except after a
// peer failure, where UCX purges the endpoint's requests). Endpoints use
// UCP_ERR_HANDLING_MODE_PEER where the transports allow it (a peer that dies
// fails its transfers with kUnavailable); UCX 1.13 shared memory does not, so
// there the endpoint has no error handling and a dead peer shows as a missing
// ACK (wait() → kDeadlineExceeded; the transfer fails after kAckTimeout).
// Device regions: used directly when the UCX context supports CUDA memory,
// otherwise refused with kUnimplemented (pinned-host staging is NOT written).
// UCX stays in this file (STYLE.md), which is why it is longer than ~400 lines.
#include <poll.h>
#include <ucp/api/ucp.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "common/base/logging.h"
#include "kvtransfer/agent_core.h"
#include "kvtransfer/backends.h"

namespace pdserve::kvtransfer {
namespace {

constexpr unsigned kNotifyAm = 11;
constexpr unsigned kAckAm = 12;
constexpr unsigned kDataAm = 13;   // am protocol: one op, received into the region
constexpr unsigned kAbortAm = 14;  // am protocol: no NOTIFY follows for this transfer
constexpr size_t kMaxInflightOps = 256;
constexpr uint64_t kInboundPinId = ~0ull;  // pins of received data, never a local transfer
constexpr size_t kPutBatch = 32;
// A notification whose ACK has not come after this long fails the transfer
// (a dead peer on a transport without failure detection).
constexpr auto kAckTimeout = std::chrono::seconds(30);

// How data moves. kPut: ucp_put_nbx + ucp_ep_flush_nbx, one-sided (the
// receiver never sees the writes). kAm: each op is an active message the
// receiver checks (region, bounds, fenced epoch) and receives straight into
// the region (rendezvous: zero-copy, CMA over shared memory); the NOTIFY is
// delivered once every op of its transfer has landed. UCX 1.13 without RDMA
// emulates put in software through the AM lane's bounce buffers, so kAm is
// the default; PDSERVE_KV_UCX_PROTOCOL=put selects kPut (RDMA fabrics).
enum class Protocol { kPut, kAm };

struct NotifyHeader {
  uint64_t sender_uid;
  uint64_t transfer_id;
  uint64_t epoch;
  uint64_t bytes;
  uint64_t num_ops;  // am protocol: data AMs that precede it; 0 for put
  uint32_t name_len;
  uint32_t payload_len;
};

struct DataHeader {
  uint64_t sender_uid;
  uint64_t transfer_id;
  uint64_t region;
  uint64_t offset;
  uint64_t len;
  uint64_t epoch;
};

// Receiver side (am protocol): one sender's transfer being assembled.
struct Assembly {
  uint64_t landed = 0;  // ops received or refused
  Status refused;
  bool notified = false;
  uint64_t expected = 0;
  Notification note;
  uint64_t bytes = 0;
  ucp_ep_h reply_ep = nullptr;
};

struct AckHeader {
  uint64_t transfer_id;
  uint64_t code;
};

Status ucx_error(const std::string& what, ucs_status_t s) {
  return unavailable(what + ": " + ucs_status_string(s));
}

struct UcxPeer {
  uint64_t id = 0;
  std::string name;
  std::string address;
  RemoteRegions regions;
  ucp_ep_h ep = nullptr;
  std::atomic<bool> dead{false};
  Status dead_status;                    // written once, before dead becomes true
  std::map<uint64_t, ucp_rkey_h> rkeys;  // remote region id -> unpacked rkey
};

struct UcxJob {
  enum class Phase { kPosting, kFlushing, kNotifying, kAwaitingAck };
  uint64_t id = 0;
  UcxPeer* peer = nullptr;
  std::vector<WriteOp> ops;
  std::vector<RegionPin> pins;
  std::string notification;
  uint64_t epoch = 0;
  int64_t fail_idx = -1;
  size_t next_op = 0;
  Phase phase = Phase::kPosting;
  Status stop;  // set: flush, then complete with it instead of notifying
  NotifyHeader header{};
  std::string am_data;
  std::chrono::steady_clock::time_point notified_at;
  std::vector<DataHeader> data_headers;  // am protocol: live until each send completes
  size_t inflight = 0;
};

struct PendingAck {
  ucp_ep_h ep;
  AckHeader header;
  std::string message;
};

class UcxAgent final : public AgentCore {
 public:
  explicit UcxAgent(const AgentOptions& options) : AgentCore(options) {}
  ~UcxAgent() override { shutdown(); }

  Status start();
  std::string metadata() const override;
  Result<uint64_t> connect(std::string_view peer_metadata) override;
  Result<uint64_t> post_write(uint64_t peer_id, std::vector<WriteOp> ops, std::string notification,
                              uint64_t epoch) override;

 protected:
  Status on_register(Region* region) override;
  void on_deregister(const Region& region) override;
  void on_cancel(uint64_t) override { wake(); }

 private:
  // Runs fn on the progress thread and waits for its Status (bounded).
  Status on_worker(std::function<Status()> fn);
  void submit(std::function<void()> fn);
  void wake() {
    if (worker_ != nullptr) ucp_worker_signal(worker_);
  }
  void progress_loop();
  void drive(UcxJob& job);
  void start_flush(UcxJob& job);
  void on_flushed(uint64_t id, ucs_status_t status);
  void finish(uint64_t id, const Status& status);
  void fail_peer(UcxPeer* peer, const Status& status);
  void send_acks();
  void shutdown();
  void drive_am(UcxJob& job);
  void on_data_sent(uint64_t id, ucs_status_t status);
  void send_notify(UcxJob& job, uint64_t num_ops);
  void on_landed(uint64_t sender_uid, uint64_t transfer_id, const Status& status);
  void deliver(std::pair<uint64_t, uint64_t> key);
  static ucs_status_t on_data_am(void* arg, const void* header, size_t header_len, void* data,
                                 size_t len, const ucp_am_recv_param_t* param);
  static ucs_status_t on_abort_am(void* arg, const void* header, size_t header_len, void* data,
                                  size_t len, const ucp_am_recv_param_t* param);
  Result<ucp_rkey_h> rkey_for(UcxPeer& peer, uint64_t region_id);

  static ucs_status_t on_notify_am(void* arg, const void* header, size_t header_len, void* data,
                                   size_t len, const ucp_am_recv_param_t* param);
  static ucs_status_t on_ack_am(void* arg, const void* header, size_t header_len, void* data,
                                size_t len, const ucp_am_recv_param_t* param);
  static void on_ep_error(void* arg, ucp_ep_h ep, ucs_status_t status);

  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  int efd_ = -1;
  bool cuda_memory_ = false;
  std::string worker_address_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::chrono::microseconds spin_{50};
  Protocol protocol_ = Protocol::kAm;
  uint64_t uid_ = 0;  // tells this agent's transfers apart at the receiver  // polls this long
                      // after activity (env PDSERVE_KV_UCX_SPIN_US)

  std::mutex mu_;  // commands_, peers_ map shape
  std::deque<std::function<void()>> commands_;
  std::map<uint64_t, std::unique_ptr<UcxPeer>> peers_;
  uint64_t next_peer_id_ = 1;

  // Progress thread only.
  std::map<uint64_t, std::unique_ptr<UcxJob>> jobs_;
  std::deque<PendingAck> acks_;
  std::map<std::pair<uint64_t, uint64_t>, Assembly> assemblies_;  // (sender uid, transfer id)
  size_t receiving_ = 0;                                          // rendezvous receives in flight
};

Status UcxAgent::start() {
  ucp_config_t* config = nullptr;
  ucs_status_t s = ucp_config_read(nullptr, nullptr, &config);
  if (s != UCS_OK) return ucx_error("ucp_config_read", s);
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
  params.features = UCP_FEATURE_RMA | UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  params.mt_workers_shared = 1;
  s = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  if (s != UCS_OK) return ucx_error("ucp_init", s);

  ucp_context_attr_t attr{};
  attr.field_mask = UCP_ATTR_FIELD_MEMORY_TYPES;
  if (ucp_context_query(context_, &attr) == UCS_OK) {
    cuda_memory_ = (attr.memory_types & UCS_BIT(UCS_MEMORY_TYPE_CUDA)) != 0;
  }

  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_MULTI;  // ucp_worker_signal comes from caller threads
  s = ucp_worker_create(context_, &wp, &worker_);
  if (s != UCS_OK) return ucx_error("ucp_worker_create", s);
  s = ucp_worker_get_efd(worker_, &efd_);
  if (s != UCS_OK) return ucx_error("ucp_worker_get_efd", s);

  ucp_address_t* addr = nullptr;
  size_t addr_len = 0;
  s = ucp_worker_get_address(worker_, &addr, &addr_len);
  if (s != UCS_OK) return ucx_error("ucp_worker_get_address", s);
  worker_address_.assign(reinterpret_cast<const char*>(addr), addr_len);
  ucp_worker_release_address(worker_, addr);

  for (auto [id, cb] :
       {std::pair{kNotifyAm, &UcxAgent::on_notify_am}, std::pair{kAckAm, &UcxAgent::on_ack_am},
        std::pair{kDataAm, &UcxAgent::on_data_am}, std::pair{kAbortAm, &UcxAgent::on_abort_am}}) {
    ucp_am_handler_param_t hp{};
    hp.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB |
                    UCP_AM_HANDLER_PARAM_FIELD_ARG | UCP_AM_HANDLER_PARAM_FIELD_FLAGS;
    hp.id = id;
    hp.cb = cb;
    hp.arg = this;
    hp.flags = UCP_AM_FLAG_WHOLE_MSG;
    s = ucp_worker_set_am_recv_handler(worker_, &hp);
    if (s != UCS_OK) return ucx_error("ucp_worker_set_am_recv_handler", s);
  }
  if (const char* proto = std::getenv("PDSERVE_KV_UCX_PROTOCOL"); proto != nullptr) {
    std::string_view p(proto);
    if (p == "put") {
      protocol_ = Protocol::kPut;
    } else if (p != "am" && !p.empty()) {
      return invalid_argument("PDSERVE_KV_UCX_PROTOCOL must be 'am' or 'put'");
    }
  }
  uid_ = (static_cast<uint64_t>(::getpid()) << 32) ^ reinterpret_cast<uintptr_t>(this) ^
         static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  if (const char* spin = std::getenv("PDSERVE_KV_UCX_SPIN_US"); spin != nullptr) {
    spin_ = std::chrono::microseconds(std::atoll(spin));
  }
  thread_ = std::thread([this] { progress_loop(); });
  return ok_status();
}

void UcxAgent::shutdown() {
  if (thread_.joinable()) {
    submit([this] {
      for (auto& [id, job] : jobs_) transfers_.complete(id, cancelled("agent shut down"));
      jobs_.clear();
      std::lock_guard lock(mu_);
      for (auto& [id, peer] : peers_) {
        for (auto& [rid, rkey] : peer->rkeys) ucp_rkey_destroy(rkey);
        peer->rkeys.clear();
        if (peer->ep == nullptr) continue;
        ucp_request_param_t p{};
        p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
        p.flags = UCP_EP_CLOSE_FLAG_FORCE;
        void* req = ucp_ep_close_nbx(peer->ep, &p);
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (UCS_PTR_IS_PTR(req) && ucp_request_check_status(req) == UCS_INPROGRESS &&
               std::chrono::steady_clock::now() < until) {
          ucp_worker_progress(worker_);
        }
        if (UCS_PTR_IS_PTR(req)) ucp_request_free(req);
        peer->ep = nullptr;
      }
      stop_ = true;
    });
    thread_.join();
  }
  for (const Region& r : regions_.all()) {
    if (r.backend_handle != nullptr)
      ucp_mem_unmap(context_, static_cast<ucp_mem_h>(r.backend_handle));
  }
  if (worker_ != nullptr) ucp_worker_destroy(worker_);
  if (context_ != nullptr) ucp_cleanup(context_);
  worker_ = nullptr;
  context_ = nullptr;
}

void UcxAgent::submit(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    commands_.push_back(std::move(fn));
  }
  wake();
}

Status UcxAgent::on_worker(std::function<Status()> fn) {
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> result = done->get_future();
  submit([fn = std::move(fn), done] { done->set_value(fn()); });
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return deadline_exceeded("ucx progress thread did not answer within 10 s");
  }
  return result.get();
}

void UcxAgent::progress_loop() {
  auto busy_until = std::chrono::steady_clock::now();
  while (!stop_) {
    std::deque<std::function<void()>> commands;
    {
      std::lock_guard lock(mu_);
      commands.swap(commands_);
    }
    for (auto& fn : commands) fn();
    unsigned events = 0;
    while (ucp_worker_progress(worker_) != 0) ++events;
    send_acks();
    std::vector<uint64_t> ids;
    bool posting = false;  // a job with puts left to post never waits for an event
    for (auto& [id, job] : jobs_) {
      ids.push_back(id);
      posting |= job->phase == UcxJob::Phase::kPosting;
    }
    for (uint64_t id : ids) {
      auto it = jobs_.find(id);
      if (it != jobs_.end()) drive(*it->second);
    }
    auto now = std::chrono::steady_clock::now();
    posting |= receiving_ > 0 || !acks_.empty();
    // While transfers are in flight here (sent or being assembled), more events
    // are due and UCX may hold internal pending work that no fd announces:
    // poll longer and sleep at most 1 ms.
    bool active = !jobs_.empty() || !assemblies_.empty();
    auto spin = active ? std::max(spin_, std::chrono::microseconds(2000)) : spin_;
    if (events != 0 || !commands.empty() || posting) busy_until = now + spin;
    if (now < busy_until || stop_) continue;  // spin briefly after activity: low latency
    ucs_status_t s = ucp_worker_arm(worker_);
    if (s == UCS_ERR_BUSY) continue;
    pollfd pfd{efd_, POLLIN, 0};
    ::poll(&pfd, 1, active ? 1 : 5);
  }
}

Status UcxAgent::on_register(Region* region) {
  if (region->kind == MemoryKind::kDevice && !cuda_memory_) {
    return unimplemented(
        "ucx: this UCX build has no CUDA memory support and pinned-host staging of device regions "
        "is not implemented yet");
  }
  ucp_mem_map_params_t mp{};
  mp.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
  mp.address = region->addr;
  mp.length = region->len;
  if (region->kind == MemoryKind::kDevice) {
    mp.field_mask |= UCP_MEM_MAP_PARAM_FIELD_MEMORY_TYPE;
    mp.memory_type = UCS_MEMORY_TYPE_CUDA;
  }
  ucp_mem_h memh = nullptr;
  ucs_status_t s = ucp_mem_map(context_, &mp, &memh);
  if (s != UCS_OK) return ucx_error("ucp_mem_map", s);
  void* rkey = nullptr;
  size_t rkey_len = 0;
  s = ucp_rkey_pack(context_, memh, &rkey, &rkey_len);
  if (s != UCS_OK) {
    ucp_mem_unmap(context_, memh);
    return ucx_error("ucp_rkey_pack", s);
  }
  region->rkey.assign(static_cast<const char*>(rkey), rkey_len);
  ucp_rkey_buffer_release(rkey);
  region->backend_handle = memh;
  return ok_status();
}

void UcxAgent::on_deregister(const Region& region) {
  ucp_mem_unmap(context_, static_cast<ucp_mem_h>(region.backend_handle));
}

std::string UcxAgent::metadata() const {
  AgentMetadata md;
  md.backend = BackendKind::kUcx;
  md.name = options_.name;
  md.compat_key = options_.compat_key;
  md.address = worker_address_;
  md.regions = regions_.describe();
  return md.serialize();
}

void UcxAgent::on_ep_error(void* arg, ucp_ep_h, ucs_status_t status) {
  auto* peer = static_cast<UcxPeer*>(arg);
  peer->dead_status = ucx_error("ucx peer '" + peer->name + "' failed", status);
  peer->dead = true;  // read by callers after dead_status is written
}

Result<uint64_t> UcxAgent::connect(std::string_view peer_metadata) {
  PD_ASSIGN_OR_RETURN(AgentMetadata md, AgentMetadata::parse(peer_metadata));
  PD_RETURN_IF_ERROR(check_compatible(md, BackendKind::kUcx, options_.compat_key));
  uint64_t id = 0;
  Status s = on_worker([&]() -> Status {
    std::lock_guard lock(mu_);
    for (auto& [pid, peer] : peers_) {
      if (peer->name == md.name && peer->address == md.address && !peer->dead) {
        peer->regions = index_regions(md.regions);
        id = pid;
        return ok_status();
      }
    }
    auto peer = std::make_unique<UcxPeer>();
    peer->id = next_peer_id_++;
    peer->name = md.name;
    peer->address = md.address;
    peer->regions = index_regions(md.regions);
    ucp_ep_params_t ep{};
    ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                    UCP_EP_PARAM_FIELD_ERR_HANDLER;
    ep.address = reinterpret_cast<const ucp_address_t*>(peer->address.data());
    ep.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    ep.err_handler.cb = &UcxAgent::on_ep_error;
    ep.err_handler.arg = peer.get();
    ucs_status_t st = ucp_ep_create(worker_, &ep, &peer->ep);
    if (st == UCS_ERR_UNREACHABLE) {
      // UCX 1.13's shared-memory transports cannot report peer failure; there
      // a dead peer shows as a missing ACK (wait() -> kDeadlineExceeded).
      ep.err_mode = UCP_ERR_HANDLING_MODE_NONE;
      st = ucp_ep_create(worker_, &ep, &peer->ep);
    }
    if (st != UCS_OK) return ucx_error("ucp_ep_create to '" + md.name + "'", st);
    id = peer->id;
    peers_[id] = std::move(peer);
    return ok_status();
  });
  PD_RETURN_IF_ERROR(s);
  return id;
}

Result<ucp_rkey_h> UcxAgent::rkey_for(UcxPeer& peer, uint64_t region_id) {
  if (auto it = peer.rkeys.find(region_id); it != peer.rkeys.end()) return it->second;
  const RegionDesc& desc = peer.regions.at(region_id);
  ucp_rkey_h rkey = nullptr;
  ucs_status_t s = ucp_ep_rkey_unpack(peer.ep, desc.rkey.data(), &rkey);
  if (s != UCS_OK) return ucx_error("ucp_ep_rkey_unpack", s);
  peer.rkeys[region_id] = rkey;
  return rkey;
}

Result<uint64_t> UcxAgent::post_write(uint64_t peer_id, std::vector<WriteOp> ops,
                                      std::string notification, uint64_t epoch) {
  UcxPeer* peer = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(peer_id);
    if (it == peers_.end()) return not_found("peer " + std::to_string(peer_id) + " is unknown");
    peer = it->second.get();
    PD_RETURN_IF_ERROR(check_ops(ops, peer->regions, notification));
    if (peer->dead) return peer->dead_status;
  }
  auto job = std::make_unique<UcxJob>();
  job->id = transfers_.create(peer_id);
  std::vector<WriteOp> merged = coalesce_ops(ops);
  Result<std::vector<RegionPin>> pins = pin_local(merged, job->id);
  if (!pins.ok()) {
    transfers_.complete(job->id, pins.status());
    return pins.status();
  }
  job->fail_idx = fault_index(ops.size());
  if (job->fail_idx < 0) {
    ops = std::move(merged);  // the fault injector counts the caller's ops
  } else {
    pins = pin_local(ops, job->id);
    if (!pins.ok()) {
      transfers_.complete(job->id, pins.status());
      return pins.status();
    }
  }
  job->pins = std::move(pins).value();
  job->peer = peer;
  job->ops = std::move(ops);
  job->notification = std::move(notification);
  job->epoch = epoch;
  uint64_t id = job->id;
  auto shared = std::make_shared<std::unique_ptr<UcxJob>>(std::move(job));
  submit([this, shared] {
    uint64_t jid = (*shared)->id;
    jobs_[jid] = std::move(*shared);
  });
  return id;
}

void UcxAgent::drive(UcxJob& job) {
  if (job.peer->dead) return fail_peer(job.peer, job.peer->dead_status);
  if (job.phase == UcxJob::Phase::kAwaitingAck &&
      std::chrono::steady_clock::now() - job.notified_at > kAckTimeout) {
    return finish(job.id, unavailable("no ACK from peer '" + job.peer->name + "' within 30 s"));
  }
  if (job.phase != UcxJob::Phase::kPosting) return;
  if (job.stop.ok() && transfers_.cancel_requested(job.id)) {
    job.stop = cancelled("transfer " + std::to_string(job.id) + " cancelled");
  }
  if (protocol_ == Protocol::kAm) return drive_am(job);
  size_t end = std::min(job.ops.size(), job.next_op + kPutBatch);
  while (job.stop.ok() && job.next_op < end) {
    size_t i = job.next_op;
    if (static_cast<int64_t>(i) == job.fail_idx) {
      job.stop = injected_fault(i);
      break;
    }
    const WriteOp& op = job.ops[i];
    Result<ucp_rkey_h> rkey = rkey_for(*job.peer, op.remote_region);
    if (!rkey.ok()) {
      job.stop = rkey.status();
      break;
    }
    uint64_t remote = job.peer->regions.at(op.remote_region).addr + op.remote_offset;
    ucp_request_param_t p{};
    ucs_status_ptr_t req = ucp_put_nbx(job.peer->ep, job.pins[i].data(), op.len, remote, *rkey, &p);
    if (UCS_PTR_IS_ERR(req)) {
      job.stop = ucx_error("ucp_put_nbx", UCS_PTR_STATUS(req));
      break;
    }
    if (req != nullptr) ucp_request_free(req);  // completion is covered by the flush
    bytes_sent_ += op.len;
    ++job.next_op;
  }
  if (!job.stop.ok() || job.next_op == job.ops.size()) start_flush(job);
}

void UcxAgent::start_flush(UcxJob& job) {
  job.phase = UcxJob::Phase::kFlushing;
  // The callback needs the agent and the transfer id: a small heap record.
  struct FlushCtx {
    UcxAgent* agent;
    uint64_t id;
  };
  auto* ctx = new FlushCtx{this, job.id};
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.user_data = ctx;
  p.cb.send = [](void* request, ucs_status_t status, void* user_data) {
    auto* c = static_cast<FlushCtx*>(user_data);
    c->agent->on_flushed(c->id, status);
    delete c;
    ucp_request_free(request);
  };
  ucs_status_ptr_t req = ucp_ep_flush_nbx(job.peer->ep, &p);
  if (!UCS_PTR_IS_PTR(req)) {
    delete ctx;
    on_flushed(job.id, UCS_PTR_STATUS(req));
  }
}

void UcxAgent::on_flushed(uint64_t id, ucs_status_t status) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  UcxJob& job = *it->second;
  job.pins.clear();  // no put reads local memory any more
  if (status != UCS_OK) return finish(id, ucx_error("flush to '" + job.peer->name + "'", status));
  if (!job.stop.ok()) return finish(id, job.stop);
  send_notify(job, 0);
}

void UcxAgent::send_notify(UcxJob& job, uint64_t num_ops) {
  job.phase = UcxJob::Phase::kNotifying;
  uint64_t bytes = 0;
  for (const WriteOp& op : job.ops) bytes += op.len;
  job.header = {uid_,
                job.id,
                job.epoch,
                bytes,
                num_ops,
                static_cast<uint32_t>(options_.name.size()),
                static_cast<uint32_t>(job.notification.size())};
  job.am_data = options_.name + job.notification;
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  p.flags = UCP_AM_SEND_FLAG_REPLY | UCP_AM_SEND_FLAG_EAGER;
  ucs_status_ptr_t req = ucp_am_send_nbx(job.peer->ep, kNotifyAm, &job.header, sizeof(job.header),
                                         job.am_data.data(), job.am_data.size(), &p);
  if (UCS_PTR_IS_ERR(req)) return finish(job.id, ucx_error("ucp_am_send_nbx", UCS_PTR_STATUS(req)));
  if (req != nullptr) ucp_request_free(req);  // buffers live in the job until the ACK
  job.phase = UcxJob::Phase::kAwaitingAck;
  job.notified_at = std::chrono::steady_clock::now();
}

void UcxAgent::drive_am(UcxJob& job) {
  if (job.data_headers.empty()) job.data_headers.resize(job.ops.size());
  size_t end = std::min(job.ops.size(), job.next_op + kPutBatch);
  struct SendCtx {
    UcxAgent* agent;
    uint64_t id;
  };
  while (job.stop.ok() && job.next_op < end && job.inflight < kMaxInflightOps) {
    size_t i = job.next_op;
    if (static_cast<int64_t>(i) == job.fail_idx) {
      job.stop = injected_fault(i);
      break;
    }
    const WriteOp& op = job.ops[i];
    job.data_headers[i] = {uid_, job.id, op.remote_region, op.remote_offset, op.len, job.epoch};
    auto* ctx = new SendCtx{this, job.id};
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.user_data = ctx;
    p.cb.send = [](void* request, ucs_status_t status, void* user_data) {
      auto* c = static_cast<SendCtx*>(user_data);
      c->agent->on_data_sent(c->id, status);
      delete c;
      ucp_request_free(request);
    };
    ucs_status_ptr_t req = ucp_am_send_nbx(job.peer->ep, kDataAm, &job.data_headers[i],
                                           sizeof(DataHeader), job.pins[i].data(), op.len, &p);
    ++job.next_op;
    bytes_sent_ += op.len;
    if (UCS_PTR_IS_PTR(req)) {
      ++job.inflight;
    } else {
      delete ctx;
      if (UCS_PTR_IS_ERR(req)) job.stop = ucx_error("ucp_am_send_nbx", UCS_PTR_STATUS(req));
    }
  }
  if (job.inflight != 0) return;
  if (job.stop.ok() && job.next_op < job.ops.size()) return;
  job.pins.clear();  // nothing reads local memory any more
  if (job.stop.ok()) return send_notify(job, job.ops.size());
  if (job.next_op > 0 && !job.peer->dead) {
    static thread_local DataHeader abort_header;
    abort_header = {uid_, job.id, 0, 0, 0, job.epoch};
    ucp_request_param_t p{};
    ucs_status_ptr_t req = ucp_am_send_nbx(job.peer->ep, kAbortAm, &abort_header,
                                           sizeof(abort_header), nullptr, 0, &p);
    if (UCS_PTR_IS_PTR(req)) ucp_request_free(req);
  }
  finish(job.id, job.stop);
}

void UcxAgent::on_data_sent(uint64_t id, ucs_status_t status) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  UcxJob& job = *it->second;
  --job.inflight;
  // CANCELED: the receiver refused the op; its ACK will say why.
  if (status != UCS_OK && status != UCS_ERR_CANCELED && job.stop.ok()) {
    job.stop = ucx_error("data to '" + job.peer->name + "'", status);
  }
}

void UcxAgent::finish(uint64_t id, const Status& status) {
  transfers_.complete(id, status);
  jobs_.erase(id);
}

void UcxAgent::fail_peer(UcxPeer* peer, const Status& status) {
  std::vector<uint64_t> ids;
  for (auto& [id, job] : jobs_) {
    if (job->peer == peer) ids.push_back(id);
  }
  for (uint64_t id : ids) finish(id, status);
}

ucs_status_t UcxAgent::on_notify_am(void* arg, const void* header, size_t header_len, void* data,
                                    size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(NotifyHeader) || (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0) {
    PD_LOG(WARN) << "kvtransfer ucx " << self->options_.name << ": malformed notification dropped";
    return UCS_OK;
  }
  NotifyHeader h;
  std::memcpy(&h, header, sizeof(h));
  if (static_cast<uint64_t>(h.name_len) + h.payload_len != len) return UCS_OK;
  const char* p = static_cast<const char*>(data);
  auto key = std::make_pair(h.sender_uid, h.transfer_id);
  Assembly& a = self->assemblies_[key];
  a.notified = true;
  a.expected = h.num_ops;
  a.note = {std::string(p, h.name_len), h.epoch, std::string(p + h.name_len, h.payload_len)};
  a.bytes = h.bytes;
  if ((param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) != 0) a.reply_ep = param->reply_ep;
  self->deliver(key);
  return UCS_OK;
}

// Delivers the notification of an assembly once all its ops have landed.
void UcxAgent::deliver(std::pair<uint64_t, uint64_t> key) {
  auto it = assemblies_.find(key);
  if (it == assemblies_.end()) return;
  Assembly& a = it->second;
  if (!a.notified || a.landed < a.expected) return;
  Status status = a.refused;
  if (status.ok()) {
    if (notifications_.push(std::move(a.note))) {
      bytes_received_ += a.bytes;
    } else {
      status = aborted("epoch " + std::to_string(a.note.epoch) + " is fenced by the receiver");
    }
  }
  if (a.reply_ep != nullptr) {
    acks_.push_back(
        {a.reply_ep, {key.second, static_cast<uint64_t>(status.code())}, status.message()});
  }
  assemblies_.erase(it);
}

void UcxAgent::on_landed(uint64_t sender_uid, uint64_t transfer_id, const Status& status) {
  auto key = std::make_pair(sender_uid, transfer_id);
  Assembly& a = assemblies_[key];
  ++a.landed;
  if (!status.ok() && a.refused.ok()) a.refused = status;
  deliver(key);
}

ucs_status_t UcxAgent::on_data_am(void* arg, const void* header, size_t header_len, void* data,
                                  size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(DataHeader)) return UCS_OK;
  DataHeader h;
  std::memcpy(&h, header, sizeof(h));
  bool rndv = (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0;
  Status refused;
  Result<RegionPin> pin = Status(StatusCode::kInternal, "unset");
  if (self->notifications_.is_fenced(h.epoch)) {
    refused = aborted("epoch " + std::to_string(h.epoch) + " is fenced by the receiver");
  } else if (h.len != len) {
    refused = data_loss("data message length does not match its header");
  } else {
    pin = self->regions_.pin(h.region, h.offset, h.len, kInboundPinId);
    if (!pin.ok()) {
      refused = pin.status().with_context("receiver");
    } else if (pin->region().kind != MemoryKind::kHost && !self->cuda_memory_) {
      refused = unimplemented("receiver: device region without CUDA-capable UCX");
    }
  }
  if (!refused.ok() && !rndv) {
    self->on_landed(h.sender_uid, h.transfer_id, refused);
    return UCS_OK;
  }
  if (!rndv) {
    std::memcpy(pin->data(), data, len);
    pin->release();
    self->on_landed(h.sender_uid, h.transfer_id, ok_status());
    return UCS_OK;
  }
  // Rendezvous: receive straight into the region, or into scratch when
  // refused (UCX 1.13 leaves the sender's request hanging if the data is
  // merely released).
  struct RecvCtx {
    UcxAgent* agent;
    uint64_t sender_uid;
    uint64_t transfer_id;
    Status refused;
    RegionPin pin;
    std::vector<char> scratch;
  };
  auto* ctx = new RecvCtx{self, h.sender_uid, h.transfer_id, refused, {}, {}};
  void* dst = nullptr;
  if (refused.ok()) {
    ctx->pin = std::move(pin).value();
    dst = ctx->pin.data();
  } else {
    ctx->scratch.resize(len);
    dst = ctx->scratch.data();
  }
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.user_data = ctx;
  p.cb.recv_am = [](void* request, ucs_status_t status, size_t, void* user_data) {
    auto* c = static_cast<RecvCtx*>(user_data);
    c->pin.release();
    --c->agent->receiving_;
    Status s = !c->refused.ok()   ? c->refused
               : status == UCS_OK ? ok_status()
                                  : ucx_error("receive", status);
    c->agent->on_landed(c->sender_uid, c->transfer_id, s);
    delete c;
    ucp_request_free(request);
  };
  ++self->receiving_;
  ucs_status_ptr_t req = ucp_am_recv_data_nbx(self->worker_, data, dst, len, &p);
  if (!UCS_PTR_IS_PTR(req)) {
    ucs_status_t st = UCS_PTR_STATUS(req);
    ctx->pin.release();
    --self->receiving_;
    Status s = !ctx->refused.ok() ? ctx->refused
               : st == UCS_OK     ? ok_status()
                                  : ucx_error("receive", st);
    self->on_landed(h.sender_uid, h.transfer_id, s);
    delete ctx;
  }
  return UCS_OK;
}

ucs_status_t UcxAgent::on_abort_am(void* arg, const void* header, size_t header_len, void*, size_t,
                                   const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(DataHeader)) return UCS_OK;
  DataHeader h;
  std::memcpy(&h, header, sizeof(h));
  self->assemblies_.erase({h.sender_uid, h.transfer_id});
  return UCS_OK;
}

void UcxAgent::send_acks() {
  while (!acks_.empty()) {
    auto ack = std::make_unique<PendingAck>(std::move(acks_.front()));
    acks_.pop_front();
    ucp_request_param_t p{};
    p.op_attr_mask =
        UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.flags = UCP_AM_SEND_FLAG_EAGER;
    p.user_data = ack.get();
    p.cb.send = [](void* request, ucs_status_t, void* user_data) {
      delete static_cast<PendingAck*>(user_data);
      ucp_request_free(request);
    };
    ucs_status_ptr_t req = ucp_am_send_nbx(ack->ep, kAckAm, &ack->header, sizeof(ack->header),
                                           ack->message.data(), ack->message.size(), &p);
    if (UCS_PTR_IS_PTR(req)) {
      PendingAck* owned_by_callback = ack.release();
      (void)owned_by_callback;
    }
  }
}

ucs_status_t UcxAgent::on_ack_am(void* arg, const void* header, size_t header_len, void* data,
                                 size_t len, const ucp_am_recv_param_t*) {
  auto* self = static_cast<UcxAgent*>(arg);
  if (header_len != sizeof(AckHeader)) return UCS_OK;
  AckHeader h;
  std::memcpy(&h, header, sizeof(h));
  auto code = static_cast<StatusCode>(h.code);
  Status s = code == StatusCode::kOk
                 ? ok_status()
                 : Status(code, std::string(static_cast<const char*>(data), data ? len : 0));
  self->finish(h.transfer_id, s);
  return UCS_OK;
}

}  // namespace

Result<std::unique_ptr<Agent>> create_ucx_agent(const AgentOptions& options) {
  auto agent = std::make_unique<UcxAgent>(options);
  PD_RETURN_IF_ERROR(agent->start());
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace pdserve::kvtransfer
