// How much memory a CUDA device has (backend.h), for --gpu-memory-utilization.
#include <cuda_runtime_api.h>

#include <string>

#include "engine/backend/backend.h"

namespace pdserve::backend {

Result<size_t> cuda_device_memory_bytes(int device) {
  cudaDeviceProp prop;
  if (cudaError_t err = cudaGetDeviceProperties(&prop, device); err != cudaSuccess) {
    (void)cudaGetLastError();
    return unavailable("CUDA device " + std::to_string(device) + ": " + cudaGetErrorString(err));
  }
  return prop.totalGlobalMem;
}

}  // namespace pdserve::backend
