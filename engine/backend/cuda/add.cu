#include "engine/backend/cuda/add.h"

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

__global__ void add_kernel(uint16_t* x, const uint16_t* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] = float_to_bf16_bits(bf16_bits_to_float(x[i]) + bf16_bits_to_float(y[i]));
}

}  // namespace

void launch_add(uint16_t* x, const uint16_t* y, int64_t n, void* stream) {
  if (n == 0) return;
  add_kernel<<<min(blocks_for(n, 256), 65535u), 256, 0, as_stream(stream)>>>(x, y, n);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
