// A caching allocator of device memory: freed buffers go to a free list by
// rounded size and are reused, so that per-step activations cost no
// cudaMalloc/cudaFree. Thread-safe. Tensors hold a shared_ptr to the
// allocator through their deleter, so it outlives every buffer it gave out.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace pdserve::backend::cuda {

class DeviceAllocator : public std::enable_shared_from_this<DeviceAllocator> {
 public:
  explicit DeviceAllocator(int device) : device_(device) {}
  ~DeviceAllocator();
  DeviceAllocator(const DeviceAllocator&) = delete;
  DeviceAllocator& operator=(const DeviceAllocator&) = delete;

  // Device memory of at least `bytes`, freed back to the cache when the last
  // shared_ptr goes. Aborts when the device is out of memory even after the
  // cache was released.
  std::shared_ptr<void> allocate(size_t bytes);
  size_t bytes_in_use() const;
  // The size a request of `bytes` is served with (the cache's size classes).
  static size_t rounded(size_t bytes);
  size_t bytes_cached() const;

 private:
  void release(void* p, size_t bytes);
  void free_cache_locked();

  int device_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_;  // rounded size -> buffer
  size_t in_use_ = 0;
  size_t cached_ = 0;
};

}  // namespace pdserve::backend::cuda
