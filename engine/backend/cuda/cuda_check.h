// PD_CUDA_CHECK for CUDA runtime calls: a failure is a bug or a dead device,
// reported with the call and the CUDA error string, then abort.
// PD_CUDA_LOG for the calls of destructors and cleanup, which must neither
// throw nor abort: a failure is logged (one line, the first time that call
// site fails) and the error cleared; true when the call succeeded.
#pragma once

#include <cuda_runtime.h>

#include "common/base/log_once.h"
#include "common/base/logging.h"

#define PD_CUDA_CHECK(call)                                                                     \
  do {                                                                                          \
    cudaError_t pd_cuda_err_ = (call);                                                          \
    PD_CHECK(pd_cuda_err_ == cudaSuccess) << #call << ": " << cudaGetErrorString(pd_cuda_err_); \
  } while (0)

#define PD_CUDA_LOG(call) \
  PD_LOG_FAILED_ONCE(call, cudaSuccess, ::pdserve::backend::cuda::take_cuda_error)

namespace pdserve::backend::cuda {

// What `err` says, after clearing the runtime's last error (so that a later
// launch check does not report it as its own).
inline const char* take_cuda_error(cudaError_t err) {
  (void)cudaGetLastError();
  return cudaGetErrorString(err);
}

inline cudaStream_t as_stream(void* s) {
  return static_cast<cudaStream_t>(s);
}

// Launch configuration helpers.
inline unsigned blocks_for(long long n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

}  // namespace pdserve::backend::cuda
