// EpochLeases: a cuda_ipc sender's leases on one receiver (cuda_ipc_agent.h).
// The go that answers the op list of an epoch's first part (its claim)
// carries the byte ranges the receiver granted the epoch; while the lease is
// held, the epoch's writes inside those ranges copy at once, their op lists
// announced, no go awaited. Writes of the epoch posted while its claim is
// unanswered wait for the answer (kWait), then go as use() says. The
// epoch's last write (a non-empty notification) or the receiver's
// revocation ends the lease; the sender then tells the receiver once no copy
// of the epoch runs any more (release).
//
//   none ──a part, no release pending: claim──▶ claiming ──go with ranges──▶ held
//     ▲                                            │ go without ranges        │ last write / revoke
//     └────────────────────────────────────────────┴──────────────────────────┘
//                                                         (held: a release is pending)
//
// Not thread-safe (the agent's mutex).
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "kvtransfer/agent.h"
#include "kvtransfer/grant_table.h"

namespace pdserve::kvtransfer {

class EpochLeases {
 public:
  enum class Use {
    kLeased,  // inside a held lease: copy now, announce the ops
    kClaim,   // ask for the go, and for the epoch's lease with it
    kAsk,     // ask for the go only
    kWait,    // the epoch's claim is unanswered: ask use() again after answered()
  };
  // How a write of `epoch` with `ops` goes. A last write ends the epoch's
  // lease (after using it when its ops are inside): a release is pending.
  Use use(uint64_t epoch, const std::vector<WriteOp>& ops, bool last);
  // The claim's go: `ranges` empty when the receiver gave no lease (or
  // refused the ops).
  void answered(uint64_t epoch, const std::vector<GrantRange>& ranges);
  // The receiver revoked the epoch (it fenced it): a held lease ends and a
  // release is pending. False when none was held.
  bool revoke(uint64_t epoch);
  // Epochs whose release is pending (the agent sends each once no copy of it
  // runs, then calls released()).
  const std::set<uint64_t>& releasing() const { return releasing_; }
  void released(uint64_t epoch) { releasing_.erase(epoch); }
  bool held(uint64_t epoch) const { return held_.count(epoch) != 0; }
  void clear();

 private:
  void end(uint64_t epoch);

  GrantTable ranges_;  // the held leases' ranges (kAnyPeer grants)
  std::set<uint64_t> held_;
  std::set<uint64_t> claiming_;
  std::set<uint64_t> releasing_;
};

}  // namespace pdserve::kvtransfer
