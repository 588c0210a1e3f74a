#include "kvtransfer/device_copy.h"

#include <cstdlib>
#include <cstring>

namespace pdserve::kvtransfer {

bool device_memory_supported() {
  return false;
}

Status use_device(int) {
  return ok_status();
}

Status copy_memory(void* dst, MemoryKind dst_kind, const void* src, MemoryKind src_kind,
                   size_t len) {
  if (dst_kind != MemoryKind::kHost || src_kind != MemoryKind::kHost) {
    return unimplemented("device memory copy needs a CUDA build");
  }
  std::memcpy(dst, src, len);
  return ok_status();
}

void* alloc_staging_memory(size_t len) {
  constexpr size_t kPage = 4096;
  return std::aligned_alloc(kPage, (len + kPage - 1) / kPage * kPage);
}

void free_staging_memory(void* p) {
  std::free(p);
}

}  // namespace pdserve::kvtransfer
