#include "kvtransfer/region_table.h"

#include <algorithm>

namespace pdserve::kvtransfer {

RegionPin& RegionPin::operator=(RegionPin&& other) noexcept {
  if (this != &other) {
    release();
    table_ = other.table_;
    region_ = other.region_;
    offset_ = other.offset_;
    transfer_id_ = other.transfer_id_;
    other.table_ = nullptr;
    other.region_ = nullptr;
  }
  return *this;
}

void RegionPin::release() {
  if (table_ != nullptr) table_->unpin(region_->id, transfer_id_);
  table_ = nullptr;
}

char* pinned_address(const std::vector<RegionPin>& pins, uint64_t region_id, uint64_t offset) {
  for (const RegionPin& pin : pins) {
    if (pin.region().id == region_id) return pin.region().addr + offset;
  }
  return nullptr;
}

Status check_bounds(uint64_t region_id, uint64_t region_len, uint64_t offset, uint64_t len) {
  if (offset > region_len || len > region_len - offset) {
    return out_of_range("op [" + std::to_string(offset) + ", +" + std::to_string(len) +
                        ") outside region " + std::to_string(region_id) + " of length " +
                        std::to_string(region_len));
  }
  return ok_status();
}

uint64_t RegionTable::add(Region region) {
  std::lock_guard lock(mu_);
  region.id = next_id_++;
  auto entry = std::make_unique<Entry>();
  entry->region = std::move(region);
  uint64_t id = entry->region.id;
  entries_.emplace(id, std::move(entry));
  return id;
}

Result<RegionPin> RegionTable::pin(uint64_t id, uint64_t offset, uint64_t len,
                                   uint64_t transfer_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->dying) {
    return not_found("region " + std::to_string(id) + " is not registered");
  }
  PD_RETURN_IF_ERROR(check_bounds(id, it->second->region.len, offset, len));
  return make_pin(*it->second, offset, transfer_id);
}

Result<std::vector<RegionPin>> RegionTable::pin_hulls(const std::vector<GrantRange>& ranges,
                                                      uint64_t transfer_id) {
  struct Hull {
    Entry* entry;
    uint64_t begin;
  };
  std::vector<Hull> hulls;
  std::lock_guard lock(mu_);
  for (const GrantRange& r : ranges) {
    auto hull = std::find_if(hulls.begin(), hulls.end(),
                             [&](const Hull& h) { return h.entry->region.id == r.region; });
    if (hull == hulls.end()) {
      auto it = entries_.find(r.region);
      if (it == entries_.end() || it->second->dying) {
        return not_found("region " + std::to_string(r.region) + " is not registered");
      }
      hull = hulls.insert(hulls.end(), {it->second.get(), r.offset});
    }
    PD_RETURN_IF_ERROR(check_bounds(r.region, hull->entry->region.len, r.offset, r.len));
    hull->begin = std::min(hull->begin, r.offset);
  }
  std::vector<RegionPin> pins;
  pins.reserve(hulls.size());
  for (const Hull& h : hulls) pins.push_back(make_pin(*h.entry, h.begin, transfer_id));
  return pins;
}

RegionPin RegionTable::make_pin(Entry& entry, uint64_t offset, uint64_t transfer_id) {
  ++entry.pins[transfer_id];
  RegionPin pin;
  pin.table_ = this;
  pin.region_ = &entry.region;
  pin.offset_ = offset;
  pin.transfer_id_ = transfer_id;
  return pin;
}

void RegionTable::unpin(uint64_t id, uint64_t transfer_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  auto pin = it->second->pins.find(transfer_id);
  if (pin != it->second->pins.end() && --pin->second == 0) it->second->pins.erase(pin);
  if (it->second->pins.empty()) unpinned_.notify_all();
}

Status RegionTable::begin_remove(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->dying) {
    return not_found("region " + std::to_string(id) + " is not registered");
  }
  it->second->dying = true;
  return ok_status();
}

std::vector<uint64_t> RegionTable::pinning_transfers(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return {};
  std::vector<uint64_t> out;
  for (const auto& [transfer_id, num_pins] : it->second->pins)
    out.insert(out.end(), num_pins, transfer_id);
  return out;
}

Result<Region> RegionTable::finish_remove(uint64_t id, std::chrono::milliseconds deadline) {
  std::unique_lock lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return not_found("region " + std::to_string(id) + " is not registered");
  Entry* entry = it->second.get();
  if (!unpinned_.wait_for(lock, deadline, [&] { return entry->pins.empty(); })) {
    return deadline_exceeded("region " + std::to_string(id) + " still in use by " +
                             std::to_string(entry->pins.size()) + " transfer(s)");
  }
  Region region = entry->region;
  entries_.erase(id);
  return region;
}

std::vector<RegionDesc> RegionTable::describe() const {
  std::lock_guard lock(mu_);
  std::vector<RegionDesc> out;
  for (const auto& [id, entry] : entries_) {
    if (entry->dying) continue;
    const Region& r = entry->region;
    out.push_back({r.id, r.len, r.kind, reinterpret_cast<uint64_t>(r.addr), r.rkey});
  }
  return out;
}

std::vector<Region> RegionTable::all() const {
  std::lock_guard lock(mu_);
  std::vector<Region> out;
  for (const auto& [id, entry] : entries_) out.push_back(entry->region);
  return out;
}

}  // namespace pdserve::kvtransfer
