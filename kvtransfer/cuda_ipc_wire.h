// The cuda_ipc backend's control messages (std only). They travel as
// notifications over an authenticated tcp control Agent (peer_auth.h), one
// connection each way, so every message is in order and comes from a peer
// that proved the cluster token and the compat key:
//
//   sender ──HELLO(sender control metadata)──────────────▶ receiver
//   sender ◀─REGIONS(boot id, PCI bus id, IPC handles)─── receiver  (over its connection back)
//   sender ──OPS(transfer, epoch, (region, offset, len)*)──▶
//   sender ◀─GO(transfer, status)──  receiver checked grants, fence, bounds; pins the ranges
//   sender   copies device to device on its copy stream, waits for its event
//   sender ──NOTIFY(transfer, epoch, payload) | CANCEL(transfer)──▶
//   sender ◀─ACK(transfer, status)──  receiver delivered (or refused) the notification;
//                                      none for a part (empty payload: agent.h "Parts")
//   either ──PING──▶   liveness probe while work is outstanding; ignored
//
// Leases (epoch_leases.h), so that an epoch's writes after its first copy at once:
//
//   sender ──CLAIM(transfer, epoch, ops)──▶   an epoch's first part: OPS that asks for the lease
//   sender ◀─GO(transfer, status, granted ranges as ops)──  the lease (no ranges: none)
//   sender ──LEASED(transfer, epoch, ops)──▶  announced; the copy starts without a GO
//   sender ◀─REVOKE(epoch)──                  the receiver fenced the epoch
//   sender ──RELEASE(epoch)──▶                after the epoch's last write or a REVOKE, once
//                                             no copy of the epoch runs (its NOTIFYs went first)
//
// No handle is sent before both ends proved the token: REGIONS go only over
// the receiver's own authenticated connection back to the HELLO's sender.
// A message longer than a notification travels as fragments (fragment(),
// Reassembler). An op list travels as varints, offsets as steps from the
// previous op's end (encode()), so that a few hundred scattered blocks fit
// one fragment. decode() bounds every field and never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer::cuda_ipc {

inline constexpr size_t kIpcHandleLen = 64;  // sizeof(cudaIpcMemHandle_t)

enum class Verb : char {
  kHello = 'H',
  kRegions = 'R',
  kOps = 'O',
  kGo = 'G',
  kNotify = 'N',
  kCancel = 'C',
  kAck = 'A',
  kPing = 'P',
  kClaim = 'K',
  kLeased = 'L',
  kRevoke = 'V',
  kRelease = 'E',
};

// One exported region: the IPC handle of the allocation holding it and where
// the region starts inside that allocation.
struct ExportedRegion {
  uint64_t id = 0;
  uint64_t len = 0;
  std::string handle;  // kIpcHandleLen bytes
  uint64_t offset = 0;
};

struct Message {
  Verb verb = Verb::kPing;
  uint64_t transfer_id = 0;           // kOps, kClaim, kLeased, kGo, kNotify, kCancel, kAck
  uint64_t epoch = 0;                 // kOps, kClaim, kLeased, kNotify, kRevoke, kRelease
  StatusCode code = StatusCode::kOk;  // kGo, kAck
  std::string text;    // kHello: control metadata; kNotify: payload; kGo/kAck: status message;
                       // kRegions: the receiver's boot id
  std::string device;  // kRegions: the receiver's PCI bus id
  // kOps, kClaim, kLeased: remote_* fields name the receiver's regions;
  // kGo of a kClaim: the lease's ranges (remote_region, remote_offset, len).
  std::vector<WriteOp> ops;
  std::vector<ExportedRegion> regions;  // kRegions
};

// Largest encoded message and most ops in one; post_write refuses more.
inline constexpr size_t kMaxMessageLen = 8 << 20;
inline constexpr size_t kMaxOps = kMaxMessageLen / 24;

std::string encode(const Message& m);
// kInvalidArgument for anything malformed.
Result<Message> decode(std::string_view bytes);

// The status a kGo / kAck message carries.
Status message_status(const Message& m);
Message status_message(Verb verb, uint64_t transfer_id, const Status& status);

// Splits an encoded message into notification payloads of at most
// kMaxNotificationLen bytes: a flag byte (1: more follow) and a piece.
std::vector<std::string> fragment(std::string_view encoded);

// Joins the fragments of one connection (they arrive in order). Not thread-safe.
class Reassembler {
 public:
  // The whole message once its last fragment arrived, else an empty string
  // with ok; kInvalidArgument for an empty fragment or past kMaxMessageLen
  // (the partial message is dropped).
  Result<std::string> add(std::string_view fragment);

 private:
  std::string partial_;
};

}  // namespace pdserve::kvtransfer::cuda_ipc
