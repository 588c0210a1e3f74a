// kvtransfer Agent: moves bytes between registered memory regions of two
// processes. It knows bytes and regions, never models, tokens or HTTP.
//
//   sender                                    receiver
//   ------                                    --------
//   register_region(src) -> id                register_region(dst) -> id
//                                             metadata() ──(any channel)──┐
//   connect(receiver_metadata) -> peer  ◀─────────────────────────────────┘
//   post_write(peer, ops, note, epoch) -> transfer
//   wait(transfer, deadline)                  wait_notification(deadline)
//
// Transfer life on the sender (one state machine per transfer id):
//
//   post_write ─▶ kPending ──data landed, notification accepted──▶ kDone
//                   │  │
//                   │  └──cancel() before the notification left──▶ kCancelled
//                   └──peer died, receiver refused (bounds, fenced epoch),
//                      injected fault, deadline of the connection──▶ kFailed
//
// kDone means: every byte of every op is in the receiver's memory and the
// receiver accepted the notification (it is in its queue). kFailed and
// kCancelled mean: the notification was NOT delivered; some ops may have
// landed partially. A receiver must treat the destination blocks as garbage
// until it holds the notification.
//
// Parts (tcp, cuda_ipc): a write whose notification is empty is one part of
// its epoch's transfer (a layer of a layer-wise push), and the receiver does
// not answer it. It is kDone once its bytes are on their way, in order ahead
// of its (empty) notification: tcp, written to the connection; cuda_ipc, the
// copy's event fired. The write of that epoch with a non-empty notification
// (the transfer's last) is answered as above, and its answer covers the
// parts the same connection sent before it: their bytes landed before its
// notification is delivered (tcp: one ordered connection; cuda_ipc: one copy
// stream, notifications sent in copy order), and a part the receiver refused
// (fenced epoch, region, bounds) fails that last write with the part's
// status, its notification not delivered. So a sender waits for the
// receiver once per transfer, not once per layer. ucx, nccl and local
// answer every write (a part too): ucx's messages of different writes may
// land out of order (rendezvous), so only a part's own answer says its bytes
// are there.
//
// What each backend guarantees about late writes (a write for an epoch the
// receiver fenced, or into a region it deregistered):
//   local: writes are applied inside post_write (synchronously); fenced epochs
//          are checked before any byte is copied: nothing late can land.
//   tcp:   the receiver applies every write itself and checks region, bounds
//          and epoch per chunk: after fence_epoch(e) returns, no byte of epoch
//          e lands; after deregister_region returns, no byte lands in it.
//   ucx, "am" protocol (the default): every op is an active message that the
//          receiver checks (region, bounds, fenced epoch) when it arrives and
//          receives straight into the region (rendezvous, zero-copy). An op
//          of a fenced epoch that arrives after fence_epoch returned is not
//          written; an op already being received at that moment may still
//          land. deregister_region waits out receives into the region.
//   ucx, "put" protocol (PDSERVE_KV_UCX_PROTOCOL=put; for RDMA fabrics):
//          the sender declares its op list first (PLAN); the receiver checks
//          it (fenced epoch, grants, region, bounds) and pins the ranges, and
//          the sender puts only after its go. Then one-sided RMA: the receiver
//          cannot stop a put that was posted. A fence after the go does not
//          stop the data (the notification is dropped and the sender's
//          transfer fails with kAborted). The sender must cancel (and see the
//          transfer leave kPending) before the receiver frees or reuses the
//          blocks.
//   nccl:  the op list reaches the receiver (over a tcp control agent) before
//          the data; it checks every op and posts the matching ncclRecv
//          itself, so a transfer of an epoch fenced before its op list
//          arrived, or with a bad region, is received into scratch device
//          memory, never into the region. Regions must be device memory.
//   cuda_ipc: the op list reaches the receiver (over a tcp control agent)
//          before the copy; it checks every op and pins the ranges, and the
//          sender copies only after its go, or under a lease: the go of an
//          epoch's first part hands the sender the epoch's granted ranges,
//          and its later writes inside them copy at once, their op lists
//          announced ahead of the copy, until the epoch's last write or the
//          receiver's fence revokes the lease (cuda_ipc_agent.h). After
//          fence_epoch(e) returns no byte of epoch e lands from a sender that
//          follows the protocol (a fence of a leased epoch waits until the
//          sender stopped copying it; the receiver cannot stop a
//          device-to-device copy an authenticated peer starts regardless).
//          Device regions only.
//
// Peer death: tcp and ucx-over-tcp fail pending transfers with kUnavailable
// as soon as the connection breaks; cuda_ipc within ~100 ms (it probes the
// control connection of a peer it waits on). ucx probes a peer its transfers
// wait on and fails them (kUnavailable) when it answered nothing for 5 s: a
// dead or stalled receiver on any transport, UCX 1.13's shared memory
// included (which cannot report peer failure: the endpoint falls back to no
// error handling and UCX logs one "no peer failure handler" error at
// connect). A ucx peer whose control message failed to send, or that closed
// the session, is broken at once: every transfer to it fails kUnavailable,
// later writes to it are refused, and connect() with its metadata makes a new
// one. When a ucx receiver's answer is lost (its send failed) the receiver
// closes the session; the sender then reports kUnavailable for a transfer
// whose notification may have been delivered (the receiver cannot know
// whether its answer arrived), so a receiver must take its caller's verdict
// (the prefill worker's answer), not the notification alone, as the end.
//
// Who may write (every backend): a connection proves it knows the cluster
// token at handshake (peer_auth.h; tcp, the nccl and cuda_ipc control
// channels, and ucx, whose messages then carry the session's tag:
// ucx_sessions.h), and a
// receiver created with require_grants accepts a write or a notification only
// of an epoch it granted (grant()), only into the granted byte ranges, and
// only from the first connection that used the grant. Anything else is
// refused before a byte lands; the connection is dropped (tcp, nccl control;
// ucx: the session) and counted in peers_refused(). A fenced epoch is not an offence: its late
// writes are refused (see above) and the connection stays. Notifications
// queued at a receiver are bounded per connection (kMaxQueuedPerPeer): a
// sender past it is refused and dropped the same way. The ucx put protocol
// checks the op list a sender declares before its puts (as cuda_ipc does) and
// refuses a notification that does not match it. The metadata withholds the
// rkeys: an accepted plan's answer carries them, so only an authenticated
// session can put at all; one that puts outside a later plan with an rkey it
// holds cannot be stopped by the receiver's software (one-sided RMA), only
// its notification is refused.
//
// Thread-safety: every method may be called from any thread concurrently.
// Errors are Status/Result (common/base/status.h); nothing throws.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace pdserve::kvtransfer {

enum class MemoryKind { kHost, kDevice };
enum class BackendKind { kLocal, kTcp, kUcx, kNccl, kCudaIpc };

std::string_view backend_name(BackendKind kind);
// "local", "tcp", "ucx", "nccl", "cuda_ipc"; kInvalidArgument otherwise.
Result<BackendKind> parse_backend(std::string_view name);

struct AgentOptions {
  BackendKind backend = BackendKind::kTcp;
  std::string name;  // for logs and Notification::peer_name
  // tcp listener (and the nccl and cuda_ipc control channels): "host" or "host:port", port 0
  // ephemeral. ucx ignores it: peers reach it by the worker address in metadata().
  std::string listen_address = "127.0.0.1";
  std::string compat_key;  // model, dtype, block size, layout, TP: peers must match exactly
  // Shared secret both ends of a connection must know (peer_auth.h). Never
  // sent, logged or quoted in a refusal.
  std::string cluster_token;
  // Receiving side: accept writes only as granted (grant()). Off only where
  // a test or a benchmark measures something else.
  bool require_grants = true;
  // Called (from a backend thread; must not block) each time a connection is
  // refused or dropped, as peers_refused() counts it: the worker's metric.
  std::function<void()> on_peer_refused;
  int device = -1;  // CUDA device for device regions / NCCL
  // Fault injector: every Nth WriteOp posted through this agent fails its
  // transfer (the ops before it are written — on nccl and cuda_ipc none is —, the
  // notification is not sent, the transfer ends kFailed with kAborted).
  // 0: off. When 0, the environment variable PDSERVE_KV_FAULT_EVERY_N is
  // read instead.
  int fail_every_n = 0;
  // How long connect() may take (TCP connect + handshake).
  std::chrono::milliseconds connect_timeout{5000};
};

// Copies `len` bytes from local_region[local_offset..] to
// remote_region[remote_offset..] of the peer.
struct WriteOp {
  uint64_t local_region = 0;
  uint64_t local_offset = 0;
  uint64_t remote_region = 0;
  uint64_t remote_offset = 0;
  uint64_t len = 0;
};

enum class TransferState { kPending, kDone, kFailed, kCancelled };
std::string_view transfer_state_name(TransferState state);

struct Notification {
  std::string peer_name;  // the sender's AgentOptions::name
  uint64_t epoch = 0;
  std::string payload;
};

// Largest notification payload post_write accepts (and a receiver takes).
inline constexpr size_t kMaxNotificationLen = 2048;
// Notifications a receiver keeps queued from one connection; past this the
// connection is refused and dropped.
inline constexpr size_t kMaxQueuedPerPeer = 4096;

// A byte range of one registered region that writes of an epoch may touch.
struct GrantRange {
  uint64_t region = 0;
  uint64_t offset = 0;
  uint64_t len = 0;
};
// kFirstPeer: the first connection that writes (or notifies) the epoch owns
// the grant, every other is refused. kAnyPeer: any authenticated connection
// (a standing grant, e.g. the nccl control mailbox).
enum class GrantScope { kFirstPeer, kAnyPeer };

class Agent {
 public:
  // Starts the backend (listener, progress thread). Fails with kUnavailable
  // when the listener cannot bind, kUnimplemented when the backend is not
  // built (nccl, cuda_ipc without CUDA), kInvalidArgument on bad options.
  static Result<std::unique_ptr<Agent>> create(const AgentOptions& options);
  virtual ~Agent();

  // Registers [addr, addr+len). Region ids are never reused by one agent.
  // kInvalidArgument for null/empty; kUnimplemented for device memory where
  // the backend cannot reach it. Regions registered after metadata() was
  // taken are unknown to peers until they connect() again with new metadata.
  virtual Result<uint64_t> register_region(void* addr, size_t len, MemoryKind kind) = 0;
  // Stops new transfers from using the region, waits out (bounded, then
  // cancels) local transfers still reading it, then unregisters. On tcp and
  // local no write lands in it after return; on ucx see the header comment.
  // kNotFound for an unknown id.
  virtual Status deregister_region(uint64_t region_id) = 0;

  // Serialisable, versioned description of this agent: backend, name,
  // compat_key, address, regions (id, length, kind, remote key).
  virtual std::string metadata() const = 0;
  // Connects to the agent described by peer_metadata; returns a peer id.
  // kInvalidArgument for unparsable metadata; kFailedPrecondition on a
  // compat_key / version / backend mismatch (checked here and, on tcp, by the
  // peer too); kUnavailable / kDeadlineExceeded when it cannot be reached.
  // Connecting again to an agent of the same name refreshes its region list
  // and returns the same peer id.
  virtual Result<uint64_t> connect(std::string_view peer_metadata) = 0;

  // Writes every op and, only after ALL data has landed on the peer, delivers
  // `notification` there with `epoch`. Fails at post time (nothing is sent):
  // kNotFound for an unknown peer or an unregistered region (local, or remote
  // as of the peer's metadata), kOutOfRange for an op outside its region,
  // kInvalidArgument for an empty op list / zero-length op / oversize
  // notification, kUnavailable when the peer connection is already dead.
  virtual Result<uint64_t> post_write(uint64_t peer_id, std::vector<WriteOp> ops,
                                      std::string notification, uint64_t epoch) = 0;
  // kNotFound when the id is unknown (finished records are kept for the
  // last 65536 finished transfers).
  virtual Result<TransferState> poll(uint64_t transfer_id) = 0;
  // ok when kDone; kDeadlineExceeded when still pending at the deadline (the
  // transfer goes on); kCancelled; otherwise the failure (kUnavailable or
  // kAborted when the peer died or refused, kOutOfRange/kNotFound when the
  // receiver refused a region).
  virtual Status wait(uint64_t transfer_id, std::chrono::milliseconds deadline) = 0;
  // Requests cancellation and waits (bounded, ~2 s) until the backend stops
  // reading local memory for it. ok when the transfer ended kCancelled;
  // kFailedPrecondition when it had already finished otherwise (its state
  // says how); kNotFound for an unknown id.
  virtual Status cancel(uint64_t transfer_id) = 0;

  // Receiving side: notifications whose data has fully landed, oldest first.
  virtual std::vector<Notification> take_notifications() = 0;
  // The oldest notification, or kDeadlineExceeded.
  virtual Result<Notification> wait_notification(std::chrono::milliseconds deadline) = 0;
  // From now on drop anything carrying this epoch (notifications queued but
  // not yet taken included); the sender's transfer fails with kAborted. Also
  // revokes the epoch's grant: this is how a receiver ends a grant.
  virtual void fence_epoch(uint64_t epoch) = 0;

  // Receiving side: allows writes of `epoch` into exactly `ranges` (and its
  // notifications), until fence_epoch(epoch). kNotFound / kOutOfRange for a
  // range outside a registered region, kAlreadyExists when the epoch is
  // granted already, kFailedPrecondition when it is fenced, kInvalidArgument
  // for an empty list or a zero-length range.
  virtual Status grant(uint64_t epoch, const std::vector<GrantRange>& ranges, GrantScope scope) = 0;
  // Connections refused or dropped since start: failed authentication or
  // compat key, a write or notification outside the grants, a flood.
  virtual uint64_t peers_refused() const = 0;

  virtual uint64_t bytes_sent() const = 0;
  virtual uint64_t bytes_received() const = 0;
};

}  // namespace pdserve::kvtransfer
