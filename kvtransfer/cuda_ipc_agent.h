// cuda_ipc backend (CUDA builds): workers on one machine, one GPU or peer
// GPUs. The receiver's device regions are mapped into the sender through
// CUDA IPC handles; a write is a device-to-device copy on the sender's copy
// stream (cuda_ipc_copy.h), its completion a CUDA event that a thread of its
// own waits for (in stream order), then the notification. Control messages (cuda_ipc_wire.h) travel
// over a tcp Agent that authenticates like any tcp agent (cluster token, compat key), so no handle
// leaves the receiver before both ends proved the token, and the metadata itself carries no handle.
//
// Transfer on the sender:
//
//   post_write ─OPS─▶ kAwaitGo ─GO ok─▶ kCopying ─event─▶ kAwaitAck ─ACK─▶ done
//       │ │              │ GO refused      ▲  │ │ cancel: CANCEL, kCancelled
//       │ │              └──▶ failed       │  │ └ peer dead: failed after the copy
//       │ └─LEASED (lease held)────────────┘  └ a part (empty notification): done
//       └─(its epoch's claim unanswered) kAwaitLease ─answer─▶ as at post     once its
//                                                                    NOTIFY is sent, no ACK
//
// The receiver checks each op (fenced epoch, grants, region, bounds) and pins
// the ranges before its GO, and holds the epoch in flight until the NOTIFY
// or CANCEL: after fence_epoch returns no byte of the epoch lands (the tcp
// guarantee, for a sender that follows the protocol). Leases (epoch_leases.h,
// cuda_ipc_wire.h) take the GO off all but an epoch's first write: the GO of
// its first part (a CLAIM) carries the ranges granted to the epoch, which the
// receiver holds in flight until the sender's RELEASE; the sender copies its
// later writes inside them at once and announces each op list (LEASED), which
// the receiver checks as an OPS (a write outside the grant drops the sender)
// and pins until its NOTIFY. fence_epoch of a leased epoch sends REVOKE and
// waits for the RELEASE, which the sender sends once no copy of the epoch
// runs. A layer-wise push of L layers thus costs one control round trip (the
// claim) and one ACK (its last layer), not 2L. A peer that stops
// answering PINGs (its control connection died) fails the transfers waiting
// on it with kUnavailable and releases what it held. Regions must be device
// memory; host regions belong to another backend (--kv-backend auto picks).
// The fault injector fails a transfer before any op is sent (as nccl).
// Internal to kvtransfer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kvtransfer/agent_core.h"
#include "kvtransfer/cuda_ipc_mapping.h"
#include "kvtransfer/cuda_ipc_wire.h"
#include "kvtransfer/epoch_leases.h"
#include "kvtransfer/inflight_epochs.h"
#include "kvtransfer/part_refusals.h"

namespace pdserve::kvtransfer::cuda_ipc {

// A control agent's name is the agent's name, '#' and a random suffix; this
// is the agent's name.
std::string display_name(const std::string& control_name);

class CudaIpcAgent final : public AgentCore {
 public:
  explicit CudaIpcAgent(const AgentOptions& options) : AgentCore(options) {}
  ~CudaIpcAgent() override;
  Status start();

  std::string metadata() const override;
  Result<uint64_t> connect(std::string_view peer_metadata) override;
  Result<uint64_t> post_write(uint64_t peer_id, std::vector<WriteOp> ops, std::string notification,
                              uint64_t epoch) override;
  void fence_epoch(uint64_t epoch) override;
  // Ours (malformed control messages, writes outside the grants) and the
  // control channel's (failed authentication, compat key).
  uint64_t peers_refused() const override;

 protected:
  Status on_register(Region* region) override;

 private:
  struct ControlLink {  // our connection to a peer's control agent
    uint64_t ctrl_peer = 0;
    uint64_t ctrl_region = 0;
  };
  struct OutPeer {  // a receiver we write to
    std::string name;
    std::string control_name;  // its control agent's, unique
    ControlLink link;
    RemoteRegions regions;
    PeerMapping mapping;
    enum class Table { kWaiting, kReady, kFailed } table = Table::kWaiting;
    Status table_status;
    Status dead;  // not ok once its control connection failed
    EpochLeases leases;
  };
  struct SendJob {
    uint64_t peer_id = 0;
    std::vector<WriteOp> ops;
    std::vector<RegionPin> pins;  // one per local region (RegionTable::pin_hulls)
    std::string notification;
    uint64_t epoch = 0;
    bool part = false;   // empty notification: done once its NOTIFY is sent
    bool claim = false;  // its GO brings the epoch's lease
    // kAwaitLease: its epoch's claim is unanswered; the answer issues it.
    enum class Stage { kAwaitLease, kAwaitGo, kCopying, kAwaitAck } stage = Stage::kAwaitGo;
    void* done = nullptr;  // cudaEvent_t while kCopying
  };
  struct InLink {  // a sender that writes to us
    ControlLink link;
    PartRefusals parts;
  };
  struct Granted {                // ops a sender may be copying now
    std::vector<RegionPin> pins;  // one per region
    uint64_t epoch = 0;
    uint64_t bytes = 0;
    Status refused;  // leased ops the receiver could not accept (a fence raced the copy)
  };
  using GrantKey = std::pair<std::string, uint64_t>;  // sender's control name, its transfer id

  // Control thread.
  void control_loop();
  void dispatch(const Notification& note);
  void on_hello(const std::string& sender, const Message& m);
  void on_regions(const std::string& receiver, const Message& m);
  void on_ops(const std::string& sender, const Message& m);
  void on_release(const std::string& sender, const Message& m);
  void on_go(const Message& m);
  void on_revoke(const std::string& receiver, const Message& m);
  void on_notify(const std::string& sender, const Message& m);
  void on_cancel_message(const std::string& sender, const Message& m);
  void on_ack(const Message& m);
  void probe_peers();
  void fail_peer_jobs(uint64_t peer_id, const Status& why);
  void drop_sender(const std::string& sender);
  // The ranges a lease of `epoch` hands the sender of connection conn_id.
  Result<std::vector<GrantRange>> lease_ranges(uint64_t conn_id, uint64_t epoch);
  // Completion thread: waits for each copy's event in stream order and
  // finishes its transfer (finish_copy).
  void completion_loop();

  // Any thread, mu_ held.
  // Job `id`'s copy ended (copy_status: how): sends its NOTIFY (or CANCEL),
  // completes a part, or waits for the ACK.
  void finish_copy(uint64_t id, const Status& copy_status);
  // Sends the peer's pending RELEASEs whose epoch no copy uses any more.
  void send_releases(uint64_t peer_id);

  // Sends job `id`'s op list as its peer's leases say (a leased copy starts
  // now) or leaves it waiting for its epoch's claim; a failure completes the
  // transfer.
  void issue(uint64_t id);
  // Issues the peer's writes of `epoch` that waited for its claim's answer.
  void issue_waiting(uint64_t peer_id, uint64_t epoch);
  Status send(const ControlLink& link, const Message& m);
  Status start_copy(uint64_t transfer_id, SendJob& job);

  std::unique_ptr<Agent> ctrl_;
  char mailbox_ = 0;
  uint64_t mailbox_id_ = 0;
  int device_ = 0;
  void* stream_ = nullptr;  // cudaStream_t: the copy stream
  std::string boot_id_;
  std::string pci_bus_id_;
  std::thread thread_;     // control
  std::thread completer_;  // completion_loop
  std::atomic<bool> stop_{false};
  InflightEpochs inflight_;

  mutable std::mutex mu_;
  std::condition_variable table_changed_;
  // Keyed by the peer's control agent name (unique per agent).
  std::map<std::string, Reassembler> reassembly_;  // control thread only
  std::map<uint64_t, std::unique_ptr<OutPeer>> out_;
  std::map<uint64_t, SendJob> jobs_;  // transfer id -> job
  std::deque<uint64_t> copying_;      // jobs in kCopying, in stream order
  std::condition_variable copy_started_;
  std::map<std::string, InLink> in_;  // sender's control name -> link
  std::map<GrantKey, Granted> granted_;
  std::set<GrantKey> leases_;  // (sender's control name, epoch) leased to it
  uint64_t next_peer_id_ = 1;
};

}  // namespace pdserve::kvtransfer::cuda_ipc
