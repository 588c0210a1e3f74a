// Builds without the CUDA backend (PDSERVE_CUDA=OFF or no nvcc).
#include "engine/backend/backend.h"
#include "engine/backend/device_peaks.h"

namespace pdserve::backend {

bool cuda_available() {
  return false;
}

Result<size_t> cuda_device_memory_bytes(int) {
  return unimplemented("this build of pdserve has no CUDA backend");
}

Result<std::unique_ptr<Backend>> make_cuda_backend(int) {
  return unimplemented(
      "this build of pdserve has no CUDA backend (configure with -DPDSERVE_CUDA=ON)");
}

Result<DevicePeaks> measure_device_peaks(Backend& be) {
  return unimplemented("device peaks: backend " + be.name() + " has no device");
}

}  // namespace pdserve::backend
