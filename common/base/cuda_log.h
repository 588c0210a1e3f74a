// PD_CUDA_LOG for the CUDA runtime calls of cleanup (destructors, deleters;
// CUDA builds only), which must neither throw nor abort: a failure is logged
// (one line, the first time that call site fails; log_once.h) and the error
// cleared. True when the call succeeded. Shared by the CUDA backend and
// kvtransfer's CUDA paths.
#pragma once

#include <cuda_runtime_api.h>

#include "common/base/log_once.h"

#define PD_CUDA_LOG(call) PD_LOG_FAILED_ONCE(call, cudaSuccess, ::pdserve::take_cuda_error)

namespace pdserve {

// What `err` says, after clearing the runtime's last error (so that a later
// call's check does not report it as its own).
inline const char* take_cuda_error(cudaError_t err) {
  (void)cudaGetLastError();
  return cudaGetErrorString(err);
}

}  // namespace pdserve
