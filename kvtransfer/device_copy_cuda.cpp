#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "common/base/cuda_log.h"
#include "kvtransfer/device_copy.h"

namespace pdserve::kvtransfer {
namespace {

Status cuda_status(const char* what, cudaError_t err) {
  return internal_error(std::string(what) + ": " + cudaGetErrorString(err));
}

// This thread's copy stream on `device` (non-blocking: it never waits for the
// legacy default stream, i.e. for the model's kernels of the same process).
Result<cudaStream_t> copy_stream(int device) {
  struct Streams {
    std::map<int, cudaStream_t> by_device;
    ~Streams() {
      for (auto& [d, s] : by_device) PD_CUDA_LOG(cudaStreamDestroy(s));
    }
  };
  thread_local Streams streams;
  if (auto it = streams.by_device.find(device); it != streams.by_device.end()) return it->second;
  cudaStream_t s = nullptr;
  if (cudaError_t err = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking); err != cudaSuccess) {
    return cuda_status("cudaStreamCreateWithFlags", err);
  }
  streams.by_device[device] = s;
  return s;
}

}  // namespace

bool device_memory_supported() {
  static const bool supported = [] {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
  }();
  return supported;
}

Status use_device(int device) {
  if (device < 0 || !device_memory_supported()) return ok_status();
  if (cudaError_t err = cudaSetDevice(device); err != cudaSuccess) {
    return cuda_status("cudaSetDevice", err);
  }
  return ok_status();
}

Status copy_memory(void* dst, MemoryKind dst_kind, const void* src, MemoryKind src_kind,
                   size_t len) {
  if (dst_kind == MemoryKind::kHost && src_kind == MemoryKind::kHost) {
    std::memcpy(dst, src, len);
    return ok_status();
  }
  // Run the copy on the device that owns the device pointer, on a stream of
  // this thread, and wait for it: a plain cudaMemcpy from pageable host
  // memory may return before the data reached the device.
  cudaPointerAttributes attr{};
  const void* device_ptr = dst_kind == MemoryKind::kDevice ? dst : src;
  if (cudaError_t err = cudaPointerGetAttributes(&attr, device_ptr); err != cudaSuccess) {
    return cuda_status("cudaPointerGetAttributes", err);
  }
  if (attr.type == cudaMemoryTypeDevice) PD_RETURN_IF_ERROR(use_device(attr.device));
  int device = 0;
  if (cudaError_t err = cudaGetDevice(&device); err != cudaSuccess) {
    return cuda_status("cudaGetDevice", err);
  }
  PD_ASSIGN_OR_RETURN(cudaStream_t stream, copy_stream(device));
  if (cudaError_t err = cudaMemcpyAsync(dst, src, len, cudaMemcpyDefault, stream);
      err != cudaSuccess) {
    return cuda_status("cudaMemcpyAsync", err);
  }
  if (cudaError_t err = cudaStreamSynchronize(stream); err != cudaSuccess) {
    return cuda_status("cudaStreamSynchronize", err);
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
  PD_CUDA_LOG(cudaFreeHost(p));
}

}  // namespace pdserve::kvtransfer
