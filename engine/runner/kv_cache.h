// The paged KV memory of one model on one backend: a pool per layer
// ([num_blocks, 2, block_size, kv_heads * head_dim], DESIGN.md's layout), and
// an optional host-memory tier of the same block shape for swapping.
// Block bookkeeping (who owns which block) is the scheduler's (engine/kv);
// this class only holds the bytes and moves them.
#pragma once

#include <cstddef>
#include <vector>

#include "common/base/status.h"
#include "engine/backend/backend.h"

namespace pdserve::runner {

struct KvCacheSpec {
  int num_layers = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int block_size = 16;
  int num_blocks = 0;
  int num_host_blocks = 0;
  backend::DType dtype = backend::DType::kF32;

  // Bytes of one block of one layer (the transfer unit).
  size_t block_bytes() const;
  // Bytes of one block across all layers.
  size_t bytes_per_block() const { return block_bytes() * static_cast<size_t>(num_layers); }
};

class KvCache {
 public:
  // Allocates the device pools (zeroed) and the host tier. Fails on a
  // non-positive size or a failed allocation.
  static Result<KvCache> create(backend::Backend& be, const KvCacheSpec& spec);

  const KvCacheSpec& spec() const { return spec_; }
  std::vector<backend::KvLayer>& layers() { return layers_; }
  const std::vector<backend::KvLayer>& layers() const { return layers_; }

  // Copies a block (all layers) between the device pool and the host tier.
  Status swap_out(int device_block, int host_block);
  Status swap_in(int host_block, int device_block);

 private:
  KvCache(backend::Backend& be, KvCacheSpec spec) : be_(&be), spec_(spec) {}
  Status check_blocks(int device_block, int host_block) const;

  backend::Backend* be_;
  KvCacheSpec spec_;
  std::vector<backend::KvLayer> layers_;
  std::vector<std::byte> host_;  // [num_host_blocks, num_layers, block_bytes]
};

}  // namespace pdserve::runner
