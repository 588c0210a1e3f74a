#include "kvtransfer/epoch_leases.h"

namespace pdserve::kvtransfer {

EpochLeases::Use EpochLeases::use(uint64_t epoch, const std::vector<WriteOp>& ops, bool last) {
  if (claiming_.count(epoch) != 0) return Use::kWait;
  Use use = Use::kAsk;
  if (held_.count(epoch) != 0) {
    use = Use::kLeased;
    for (const WriteOp& op : ops) {
      if (!ranges_.check_write(0, epoch, op.remote_region, op.remote_offset, op.len).ok()) {
        use = Use::kAsk;
        break;
      }
    }
    if (last) end(epoch);
  } else if (!last && releasing_.count(epoch) == 0) {
    claiming_.insert(epoch);
    use = Use::kClaim;
  }
  return use;
}

void EpochLeases::answered(uint64_t epoch, const std::vector<GrantRange>& ranges) {
  if (claiming_.erase(epoch) == 0 || ranges.empty()) return;
  if (ranges_.grant(epoch, ranges, GrantScope::kAnyPeer).ok()) {
    held_.insert(epoch);
  } else {
    releasing_.insert(epoch);  // a lease we cannot use: hand it back
  }
}

bool EpochLeases::revoke(uint64_t epoch) {
  if (held_.count(epoch) == 0) return false;
  end(epoch);
  return true;
}

void EpochLeases::end(uint64_t epoch) {
  held_.erase(epoch);
  ranges_.revoke(epoch);
  releasing_.insert(epoch);
}

void EpochLeases::clear() {
  for (uint64_t epoch : held_) ranges_.revoke(epoch);
  held_.clear();
  claiming_.clear();
  releasing_.clear();
}

}  // namespace pdserve::kvtransfer
