#include "engine/runner/kv_cache.h"

#include <string>

namespace pdserve::runner {

size_t KvCacheSpec::block_bytes() const {
  return 2ull * static_cast<size_t>(block_size) * static_cast<size_t>(num_kv_heads) *
         static_cast<size_t>(head_dim) * backend::dtype_size(dtype);
}

Result<KvCache> KvCache::create(backend::Backend& be, const KvCacheSpec& spec) {
  if (spec.num_layers <= 0 || spec.num_kv_heads <= 0 || spec.head_dim <= 0 ||
      spec.block_size <= 0 || spec.num_blocks <= 0 || spec.num_host_blocks < 0) {
    return invalid_argument("KV cache: every size must be positive (layers " +
                            std::to_string(spec.num_layers) + ", blocks " +
                            std::to_string(spec.num_blocks) + ", block_size " +
                            std::to_string(spec.block_size) + ")");
  }
  KvCache cache(be, spec);
  for (int l = 0; l < spec.num_layers; ++l) {
    backend::KvLayer layer;
    layer.block_size = spec.block_size;
    layer.data = be.alloc(backend::Shape{spec.num_blocks, 2, spec.block_size,
                                         static_cast<int64_t>(spec.num_kv_heads) * spec.head_dim},
                          spec.dtype);
    be.fill_zero(layer.data);
    cache.layers_.push_back(layer);
  }
  cache.host_.resize(static_cast<size_t>(spec.num_host_blocks) * spec.bytes_per_block());
  return cache;
}

Status KvCache::check_blocks(int device_block, int host_block) const {
  if (device_block < 0 || device_block >= spec_.num_blocks)
    return out_of_range("KV swap: device block " + std::to_string(device_block) + " outside [0, " +
                        std::to_string(spec_.num_blocks) + ")");
  if (host_block < 0 || host_block >= spec_.num_host_blocks)
    return out_of_range("KV swap: host block " + std::to_string(host_block) + " outside [0, " +
                        std::to_string(spec_.num_host_blocks) + ")");
  return ok_status();
}

Status KvCache::swap_out(int device_block, int host_block) {
  PD_RETURN_IF_ERROR(check_blocks(device_block, host_block));
  const size_t bb = spec_.block_bytes();
  for (int l = 0; l < spec_.num_layers; ++l) {
    const auto* src = static_cast<const char*>(layers_[l].data.data()) + bb * device_block;
    std::byte* dst = host_.data() + (static_cast<size_t>(host_block) * spec_.num_layers + l) * bb;
    be_->copy_bytes_to_host(dst, src, bb);
  }
  return ok_status();
}

Status KvCache::swap_in(int host_block, int device_block) {
  PD_RETURN_IF_ERROR(check_blocks(device_block, host_block));
  const size_t bb = spec_.block_bytes();
  for (int l = 0; l < spec_.num_layers; ++l) {
    auto* dst = static_cast<char*>(layers_[l].data.data()) + bb * device_block;
    const std::byte* src =
        host_.data() + (static_cast<size_t>(host_block) * spec_.num_layers + l) * bb;
    be_->copy_bytes_from_host(dst, src, bb);
  }
  return ok_status();
}

}  // namespace pdserve::runner
