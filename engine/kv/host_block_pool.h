// The host-memory tier for swap preemption: a free list of host block ids.
// The runner owns the memory and moves the data (StepBatch.swap_out /
// swap_in); this only decides which host block holds which swapped block.
// Host blocks are never shared or cached, so there are no reference counts.
//
// can_allocate(n) then allocate(n); not thread-safe (owned by KvCacheManager).
#pragma once

#include <cstdint>
#include <vector>

namespace pdserve::kv {

class HostBlockPool {
 public:
  explicit HostBlockPool(int num_blocks);

  int num_blocks() const { return num_blocks_; }
  int num_free() const { return static_cast<int>(free_.size()); }
  bool can_allocate(int n) const { return n <= num_free(); }
  std::vector<int32_t> allocate(int n);  // PD_CHECK: can_allocate(n)
  void free(const std::vector<int32_t>& blocks);

 private:
  int num_blocks_;
  std::vector<int32_t> free_;
  std::vector<bool> is_free_;
};

}  // namespace pdserve::kv
