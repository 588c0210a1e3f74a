// PD_CUDA_CHECK for CUDA runtime calls: a failure is a bug or a dead device,
// reported with the call and the CUDA error string, then abort.
// PD_CUDA_LOG (common/base/cuda_log.h) for the calls of destructors and
// cleanup, which must neither throw nor abort.
#pragma once

#include <cuda_runtime.h>

#include "common/base/cuda_log.h"
#include "common/base/logging.h"

#define PD_CUDA_CHECK(call)                                                                     \
  do {                                                                                          \
    cudaError_t pd_cuda_err_ = (call);                                                          \
    PD_CHECK(pd_cuda_err_ == cudaSuccess) << #call << ": " << cudaGetErrorString(pd_cuda_err_); \
  } while (0)

namespace pdserve::backend::cuda {

inline cudaStream_t as_stream(void* s) {
  return static_cast<cudaStream_t>(s);
}

// Launch configuration helpers.
inline unsigned blocks_for(long long n, int threads) {
  return static_cast<unsigned>((n + threads - 1) / threads);
}

}  // namespace pdserve::backend::cuda
