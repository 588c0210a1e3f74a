// Built without CUDA: --device cuda is refused.
#include "tools/kv_transfer_bench/device_buffers.h"

namespace kv_bench {

bool device_buffers_built() {
  return false;
}

void* alloc_device(size_t, int) {
  return nullptr;
}

void free_device(void*) {}

double device_copy_gbps(const void*, void*, size_t, size_t, size_t, double) {
  return 0;
}

}  // namespace kv_bench
