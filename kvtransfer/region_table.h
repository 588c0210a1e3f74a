// RegionTable: the memory regions one agent registered, with pins. A pin is
// held while a backend reads or writes a region; deregistration marks the
// region dying (no new pins) and waits until the last pin is released, so
// after remove() returns no backend touches the memory. A pin costs a lock
// and a counter (no allocation past a transfer's first pin of a region);
// pin_hulls pins a whole op list with one pin per region.
// Thread-safe. The table must outlive every pin it handed out.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/agent.h"
#include "kvtransfer/metadata.h"

namespace pdserve::kvtransfer {

struct Region {
  uint64_t id = 0;
  char* addr = nullptr;
  uint64_t len = 0;
  MemoryKind kind = MemoryKind::kHost;
  std::string rkey;                // what peers need to reach it (ucx)
  void* backend_handle = nullptr;  // e.g. ucp_mem_h
};

class RegionTable;

// Move-only; releases its pin when destroyed.
class RegionPin {
 public:
  RegionPin() = default;
  RegionPin(RegionPin&& other) noexcept { *this = std::move(other); }
  RegionPin& operator=(RegionPin&& other) noexcept;
  ~RegionPin() { release(); }
  void release();
  const Region& region() const { return *region_; }
  char* data() const { return region_->addr + offset_; }

 private:
  friend class RegionTable;
  RegionTable* table_ = nullptr;
  const Region* region_ = nullptr;
  uint64_t offset_ = 0;
  uint64_t transfer_id_ = 0;
};

// The address of `offset` in region `region_id`, which one of `pins` holds
// (pin_hulls); nullptr when none does.
char* pinned_address(const std::vector<RegionPin>& pins, uint64_t region_id, uint64_t offset);

// Checks [offset, offset+len) against a region length without overflow.
Status check_bounds(uint64_t region_id, uint64_t region_len, uint64_t offset, uint64_t len);

class RegionTable {
 public:
  uint64_t add(Region region);  // assigns and returns the id
  // kNotFound (unknown or dying), kOutOfRange (outside the region).
  Result<RegionPin> pin(uint64_t id, uint64_t offset, uint64_t len, uint64_t transfer_id);
  // Checks every range as pin() does, then pins for each region they name
  // the smallest range holding all of that region's ranges: one pin per
  // region (in the order the regions first appear), not per range, for a
  // list of thousands of scattered blocks. Nothing is pinned on an error.
  Result<std::vector<RegionPin>> pin_hulls(const std::vector<GrantRange>& ranges,
                                           uint64_t transfer_id);
  // Marks the region dying. kNotFound when unknown or already dying.
  Status begin_remove(uint64_t id);
  // Transfers holding pins on a region, once per pin.
  std::vector<uint64_t> pinning_transfers(uint64_t id) const;
  // Waits until a dying region has no pins, then erases and returns it;
  // kDeadlineExceeded (still dying) when pins remain at the deadline.
  Result<Region> finish_remove(uint64_t id, std::chrono::milliseconds deadline);
  std::vector<RegionDesc> describe() const;
  std::vector<Region> all() const;

 private:
  friend class RegionPin;
  struct Entry {
    Region region;
    bool dying = false;
    std::map<uint64_t, uint64_t> pins;  // transfer id -> pins it holds
  };
  // mu_ held; the entry is registered and not dying.
  RegionPin make_pin(Entry& entry, uint64_t offset, uint64_t transfer_id);
  void unpin(uint64_t id, uint64_t transfer_id);

  mutable std::mutex mu_;
  std::condition_variable unpinned_;
  std::map<uint64_t, std::unique_ptr<Entry>> entries_;
  uint64_t next_id_ = 1;
};

}  // namespace pdserve::kvtransfer
