#include "engine/backend/cuda/graph_pool.h"

#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {

std::shared_ptr<void> GraphPool::allocate(size_t bytes) {
  const size_t want = DeviceAllocator::rounded(bytes);
  void* p = nullptr;
  size_t size = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.lower_bound(want);
    if (it != free_.end()) {
      size = it->first;
      p = it->second;
      free_.erase(it);
    }
  }
  if (!p) {
    // Not a stream operation: allowed while this thread records a graph.
    cudaStreamCaptureMode mode = cudaStreamCaptureModeRelaxed;
    PD_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
    std::shared_ptr<void> mem = upstream_->allocate(want);
    PD_CUDA_CHECK(cudaThreadExchangeStreamCaptureMode(&mode));
    p = mem.get();
    size = want;
    std::lock_guard<std::mutex> lock(mu_);
    owned_.push_back(std::move(mem));
    reserved_ += size;
  }
  std::shared_ptr<GraphPool> self = shared_from_this();
  return std::shared_ptr<void>(p, [self, size](void* q) { self->release(q, size); });
}

void GraphPool::release(void* p, size_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.emplace(size, p);
}

size_t GraphPool::bytes_reserved() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reserved_;
}

}  // namespace pdserve::backend::cuda
