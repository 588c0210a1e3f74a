// Builds without the CUDA backend (PDSERVE_CUDA=OFF or no nvcc).
#include "engine/backend/backend.h"

namespace pdserve::backend {

bool cuda_available() { return false; }

Result<std::unique_ptr<Backend>> make_cuda_backend(int) {
  return unimplemented("this build of pdserve has no CUDA backend (configure with -DPDSERVE_CUDA=ON)");
}

}  // namespace pdserve::backend
