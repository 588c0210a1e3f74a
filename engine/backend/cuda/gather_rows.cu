#include "engine/backend/cuda/gather_rows.h"

#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

__global__ void gather_kernel(const uint16_t* x, const int32_t* idx, int64_t row_elems,
                              uint16_t* out) {
  const int64_t i = blockIdx.x;
  const int64_t src = static_cast<int64_t>(idx[i]) * row_elems;
  for (int64_t j = threadIdx.x; j < row_elems; j += blockDim.x) out[i * row_elems + j] = x[src + j];
}

}  // namespace

void launch_gather_rows(const void* x, const int32_t* idx, int64_t m, int64_t row_bytes, void* out,
                        void* stream) {
  if (m == 0) return;
  gather_kernel<<<static_cast<unsigned>(m), 256, 0, as_stream(stream)>>>(
      static_cast<const uint16_t*>(x), idx, row_bytes / 2, static_cast<uint16_t*>(out));
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
