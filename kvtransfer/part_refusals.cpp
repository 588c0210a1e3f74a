#include "kvtransfer/part_refusals.h"

#include <string>

namespace pdserve::kvtransfer {

Status PartRefusals::note(uint64_t epoch, const Status& why) {
  if (first_.count(epoch) != 0) return ok_status();
  if (first_.size() >= kMaxEpochs) {
    return resource_exhausted("more than " + std::to_string(kMaxEpochs) +
                              " epochs with refused parts and no last write");
  }
  first_.emplace(epoch, why);
  return ok_status();
}

Status PartRefusals::take(uint64_t epoch) {
  auto it = first_.find(epoch);
  if (it == first_.end()) return ok_status();
  Status why = std::move(it->second);
  first_.erase(it);
  return why;
}

}  // namespace pdserve::kvtransfer
