#include "engine/kv/host_block_pool.h"

#include "common/base/logging.h"

namespace pdserve::kv {

HostBlockPool::HostBlockPool(int num_blocks) : num_blocks_(num_blocks), is_free_(num_blocks, true) {
  PD_CHECK(num_blocks >= 0) << num_blocks;
  for (int32_t b = num_blocks - 1; b >= 0; --b) free_.push_back(b);
}

std::vector<int32_t> HostBlockPool::allocate(int n) {
  PD_CHECK(can_allocate(n)) << "host allocate(" << n << ") with " << num_free() << " free";
  std::vector<int32_t> out(free_.end() - n, free_.end());
  free_.resize(free_.size() - n);
  for (int32_t b : out) is_free_[b] = false;
  return out;
}

void HostBlockPool::free(const std::vector<int32_t>& blocks) {
  for (int32_t b : blocks) {
    PD_CHECK(b >= 0 && b < num_blocks_ && !is_free_[b]) << "host free of block " << b;
    is_free_[b] = true;
    free_.push_back(b);
  }
}

}  // namespace pdserve::kv
