#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>

#include "kvtransfer/device_copy.h"

namespace pdserve::kvtransfer {

bool device_memory_supported() {
  static const bool supported = [] {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
  }();
  return supported;
}

Status copy_memory(void* dst, MemoryKind dst_kind, const void* src, MemoryKind src_kind,
                   size_t len) {
  if (dst_kind == MemoryKind::kHost && src_kind == MemoryKind::kHost) {
    std::memcpy(dst, src, len);
    return ok_status();
  }
  cudaError_t err = cudaMemcpy(dst, src, len, cudaMemcpyDefault);
  if (err != cudaSuccess) {
    return internal_error(std::string("cudaMemcpy: ") + cudaGetErrorString(err));
  }
  return ok_status();
}

void* alloc_staging_memory(size_t len) {
  if (!device_memory_supported()) {
    constexpr size_t kPage = 4096;
    return std::aligned_alloc(kPage, (len + kPage - 1) / kPage * kPage);
  }
  void* p = nullptr;
  return cudaHostAlloc(&p, len, cudaHostAllocPortable) == cudaSuccess ? p : nullptr;
}

void free_staging_memory(void* p) {
  if (p == nullptr) return;
  if (!device_memory_supported()) return std::free(p);
  cudaFreeHost(p);
}

}  // namespace pdserve::kvtransfer
