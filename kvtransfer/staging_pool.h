// StagingPool: a fixed number of equal host buffers that device memory is
// staged through when a backend cannot hand it to its transport (the ucx
// backend without CUDA-capable UCX). Buffers are page-locked where CUDA is
// present (alloc_staging_memory), allocated on first use and kept until the
// pool is destroyed. Not thread-safe: one owner thread (ucx: the progress
// thread).
#pragma once

#include <cstddef>
#include <vector>

namespace pdserve::kvtransfer {

class StagingPool {
 public:
  StagingPool(size_t chunk_len, size_t count) : chunk_len_(chunk_len), count_(count) {}
  ~StagingPool();
  StagingPool(const StagingPool&) = delete;
  StagingPool& operator=(const StagingPool&) = delete;

  size_t chunk_len() const { return chunk_len_; }
  size_t count() const { return count_; }
  // A free buffer of chunk_len() bytes; nullptr when all are in use or the
  // allocation failed.
  char* acquire();
  // Gives back a buffer acquire() returned.
  void release(char* buffer);
  size_t in_use() const { return all_.size() - free_.size(); }

 private:
  size_t chunk_len_;
  size_t count_;
  std::vector<char*> all_;
  std::vector<char*> free_;
};

}  // namespace pdserve::kvtransfer
