#include "engine/backend/cuda/device_allocator.h"

#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {

size_t DeviceAllocator::rounded(size_t bytes) {
  if (bytes < (size_t{1} << 20)) return (std::max<size_t>(bytes, 1) + 511) / 512 * 512;
  return (bytes + (size_t{1} << 20) - 1) >> 20 << 20;  // whole MiB
}

DeviceAllocator::~DeviceAllocator() {
  std::lock_guard<std::mutex> lock(mu_);
  free_cache_locked();
}

std::shared_ptr<void> DeviceAllocator::allocate(size_t bytes) {
  const size_t size = rounded(bytes);
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(size);
    if (it != free_.end()) {
      p = it->second;
      free_.erase(it);
      cached_ -= size;
    } else {
      PD_CUDA_CHECK(cudaSetDevice(device_));
      if (cudaMalloc(&p, size) != cudaSuccess) {
        (void)cudaGetLastError();
        free_cache_locked();
        PD_CUDA_CHECK(cudaMalloc(&p, size));
      }
    }
    in_use_ += size;
  }
  std::shared_ptr<DeviceAllocator> self = shared_from_this();
  return std::shared_ptr<void>(p, [self, size](void* q) { self->release(q, size); });
}

void DeviceAllocator::release(void* p, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ -= bytes;
  cached_ += bytes;
  free_.emplace(bytes, p);
}

void DeviceAllocator::free_cache_locked() {
  // Buffers may still be read by queued kernels: wait before giving them back.
  PD_CUDA_LOG(cudaDeviceSynchronize());
  for (auto& [size, p] : free_) PD_CUDA_LOG(cudaFree(p));
  free_.clear();
  cached_ = 0;
}

size_t DeviceAllocator::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

size_t DeviceAllocator::bytes_cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_;
}

}  // namespace pdserve::backend::cuda
