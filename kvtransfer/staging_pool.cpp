#include "kvtransfer/staging_pool.h"

#include "kvtransfer/device_copy.h"

namespace pdserve::kvtransfer {

StagingPool::~StagingPool() {
  for (char* buffer : all_) free_staging_memory(buffer);
}

char* StagingPool::acquire() {
  if (!free_.empty()) {
    char* buffer = free_.back();
    free_.pop_back();
    return buffer;
  }
  if (all_.size() == count_) return nullptr;
  auto* buffer = static_cast<char*>(alloc_staging_memory(chunk_len_));
  if (buffer != nullptr) all_.push_back(buffer);
  return buffer;
}

void StagingPool::release(char* buffer) {
  free_.push_back(buffer);
}

}  // namespace pdserve::kvtransfer
