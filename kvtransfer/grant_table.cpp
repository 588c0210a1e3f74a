#include "kvtransfer/grant_table.h"

#include <string>

namespace pdserve::kvtransfer {

Status GrantTable::grant(uint64_t epoch, const std::vector<GrantRange>& ranges, GrantScope scope) {
  if (ranges.empty()) return invalid_argument("a grant needs at least one range");
  Grant g;
  g.scope = scope;
  for (const GrantRange& r : ranges) {
    if (r.len == 0 || r.offset + r.len < r.offset) {
      return invalid_argument("grant range of region " + std::to_string(r.region) +
                              " is empty or overflows");
    }
    std::map<uint64_t, uint64_t>& m = g.ranges[r.region];
    uint64_t begin = r.offset;
    uint64_t end = r.offset + r.len;
    // Merge with every range it overlaps or touches.
    auto it = m.upper_bound(begin);
    if (it != m.begin() && std::prev(it)->second >= begin) --it;
    while (it != m.end() && it->first <= end) {
      begin = std::min(begin, it->first);
      end = std::max(end, it->second);
      it = m.erase(it);
    }
    m.emplace(begin, end);
  }
  std::lock_guard lock(mu_);
  if (grants_.size() >= kMaxGrants) {
    return resource_exhausted("more than " + std::to_string(kMaxGrants) + " open grants");
  }
  if (!grants_.emplace(epoch, std::move(g)).second) {
    return already_exists("epoch " + std::to_string(epoch) + " is granted already");
  }
  return ok_status();
}

void GrantTable::revoke(uint64_t epoch) {
  std::lock_guard lock(mu_);
  grants_.erase(epoch);
}

Result<GrantTable::Grant*> GrantTable::claim(uint64_t conn_id, uint64_t epoch) {
  auto it = grants_.find(epoch);
  if (it == grants_.end())
    return permission_denied("epoch " + std::to_string(epoch) + " has no grant");
  Grant& g = it->second;
  if (g.scope == GrantScope::kFirstPeer) {
    if (!g.owner) g.owner = conn_id;
    if (*g.owner != conn_id) {
      return permission_denied("epoch " + std::to_string(epoch) +
                               " is granted to another connection");
    }
  }
  return &g;
}

Status GrantTable::check_write(uint64_t conn_id, uint64_t epoch, uint64_t region, uint64_t offset,
                               uint64_t len) {
  std::lock_guard lock(mu_);
  PD_ASSIGN_OR_RETURN(Grant * g, claim(conn_id, epoch));
  return check_range(*g, epoch, region, offset, len);
}

Status GrantTable::check_writes(uint64_t conn_id, uint64_t epoch, const std::vector<WriteOp>& ops) {
  std::lock_guard lock(mu_);
  PD_ASSIGN_OR_RETURN(Grant * g, claim(conn_id, epoch));
  for (const WriteOp& op : ops) {
    PD_RETURN_IF_ERROR(check_range(*g, epoch, op.remote_region, op.remote_offset, op.len));
  }
  return ok_status();
}

Status GrantTable::check_range(const Grant& g, uint64_t epoch, uint64_t region, uint64_t offset,
                               uint64_t len) {
  const uint64_t end = offset + len;
  auto denied = [&] {
    return permission_denied("write of " + std::to_string(len) + " bytes at " +
                             std::to_string(offset) + " of region " + std::to_string(region) +
                             " is outside the grant of epoch " + std::to_string(epoch));
  };
  if (len == 0 || end < offset) return denied();
  auto r = g.ranges.find(region);
  if (r == g.ranges.end()) return denied();
  auto it = r->second.upper_bound(offset);
  if (it == r->second.begin()) return denied();
  --it;
  if (it->first > offset || it->second < end) return denied();
  return ok_status();
}

Status GrantTable::check_notify(uint64_t conn_id, uint64_t epoch) {
  std::lock_guard lock(mu_);
  return claim(conn_id, epoch).status();
}

Result<std::vector<GrantRange>> GrantTable::ranges(uint64_t conn_id, uint64_t epoch) {
  std::lock_guard lock(mu_);
  PD_ASSIGN_OR_RETURN(Grant * g, claim(conn_id, epoch));
  std::vector<GrantRange> out;
  for (const auto& [region, spans] : g->ranges) {
    for (const auto& [begin, end] : spans) out.push_back({region, begin, end - begin});
  }
  return out;
}

size_t GrantTable::size() const {
  std::lock_guard lock(mu_);
  return grants_.size();
}

}  // namespace pdserve::kvtransfer
