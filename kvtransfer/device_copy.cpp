#include "kvtransfer/device_copy.h"

#include <cstring>

namespace pdserve::kvtransfer {

bool device_memory_supported() {
  return false;
}

Status copy_memory(void* dst, MemoryKind dst_kind, const void* src, MemoryKind src_kind,
                   size_t len) {
  if (dst_kind != MemoryKind::kHost || src_kind != MemoryKind::kHost) {
    return unimplemented("device memory copy needs a CUDA build");
  }
  std::memcpy(dst, src, len);
  return ok_status();
}

}  // namespace pdserve::kvtransfer
