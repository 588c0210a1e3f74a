// The memory of a backend's CUDA graphs. Buffers allocated while a graph is
// recorded come from here and are never handed back to the shared
// DeviceAllocator while the pool lives, so no eager op can ever be given
// memory that a graph's replay writes. A buffer freed during or after a
// recording returns to the pool's own free list and serves later
// allocations of any recording (best fit): graphs replay one at a time on
// one stream, and a graph's outputs are read before the next replay, so
// graphs may share memory (captured largest first, the smaller ones reuse
// the larger's buffers). Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/backend/cuda/device_allocator.h"

namespace pdserve::backend::cuda {

class GraphPool : public std::enable_shared_from_this<GraphPool> {
 public:
  explicit GraphPool(std::shared_ptr<DeviceAllocator> upstream) : upstream_(std::move(upstream)) {}
  GraphPool(const GraphPool&) = delete;
  GraphPool& operator=(const GraphPool&) = delete;

  // At least `bytes` of device memory: the smallest free pool buffer that
  // fits, else a new one from the DeviceAllocator (cudaMalloc is allowed
  // while recording: the pool switches the thread to relaxed capture mode
  // for that call; the buffer exists before any replay and stays).
  std::shared_ptr<void> allocate(size_t bytes);
  size_t bytes_reserved() const;

 private:
  void release(void* p, size_t size);

  std::shared_ptr<DeviceAllocator> upstream_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_;         // size -> buffer
  std::vector<std::shared_ptr<void>> owned_;  // every buffer taken from upstream_
  size_t reserved_ = 0;
};

}  // namespace pdserve::backend::cuda
