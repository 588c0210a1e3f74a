// PartRefusals: a receiving connection's memory of the parts it refused
// (agent.h "Parts": writes with an empty notification, which it does not
// answer), per epoch, until that epoch's last write (a non-empty
// notification) from the same connection: its answer carries the first
// refusal, and its notification is not delivered.
//
//   part refused:  note(epoch, why)        (kept: the first one)
//   last write:    take(epoch) -> ok | the first refusal; the epoch is forgotten
//
// Bounded: a connection that leaves more than kMaxEpochs epochs with refused
// parts unfinished is refused (kResourceExhausted; the backend drops it).
// Not thread-safe (one connection's reader owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "common/base/status.h"

namespace pdserve::kvtransfer {

class PartRefusals {
 public:
  static constexpr size_t kMaxEpochs = 4096;

  Status note(uint64_t epoch, const Status& why);
  Status take(uint64_t epoch);

 private:
  std::unordered_map<uint64_t, Status> first_;
};

}  // namespace pdserve::kvtransfer
