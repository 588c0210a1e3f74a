#include "kvtransfer/accepted_plans.h"

namespace pdserve::kvtransfer {

Status AcceptedPlans::accept(Key key, uint64_t epoch, uint64_t bytes, std::vector<RegionPin> pins,
                             Clock::time_point now) {
  if (plans_.size() >= max_plans_ && plans_.count(key) == 0) {
    return unavailable("too many put transfers in flight at the receiver");
  }
  plans_[key] = {epoch, bytes, std::move(pins), now};
  return ok_status();
}

Status AcceptedPlans::take(Key key, uint64_t epoch, uint64_t bytes, uint64_t num_checked) {
  auto it = plans_.find(key);
  if (it == plans_.end()) {
    if (num_checked > 0 || bytes == 0) return ok_status();  // every byte came checked
    return permission_denied("put transfer without an accepted plan");
  }
  const Plan plan = std::move(it->second);
  plans_.erase(it);
  if (plan.epoch != epoch || plan.bytes != bytes) {
    return permission_denied("notification does not match the accepted plan");
  }
  return ok_status();
}

void AcceptedPlans::expire(Clock::time_point now) {
  if (plans_.empty() || now < next_sweep_) return;
  next_sweep_ = now + std::chrono::seconds(1);
  std::erase_if(plans_, [&](const auto& entry) { return now - entry.second.accepted_at > ttl_; });
}

}  // namespace pdserve::kvtransfer
