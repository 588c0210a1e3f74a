// PD_KV_CUDA_LOG for the CUDA calls of kvtransfer's cleanup (destructors,
// deleters; CUDA builds): a failure is logged (one line, the first time that
// call site fails; common/base/log_once.h) and the error cleared, never
// thrown or fatal. True when the call succeeded.
#pragma once

#include <cuda_runtime_api.h>

#include "common/base/log_once.h"

#define PD_KV_CUDA_LOG(call) \
  PD_LOG_FAILED_ONCE(call, cudaSuccess, ::pdserve::kvtransfer::take_cuda_error)

namespace pdserve::kvtransfer {

// What `err` says, after clearing the runtime's last error (so that a later
// call's check does not report it as its own).
inline const char* take_cuda_error(cudaError_t err) {
  (void)cudaGetLastError();
  return cudaGetErrorString(err);
}

}  // namespace pdserve::kvtransfer
