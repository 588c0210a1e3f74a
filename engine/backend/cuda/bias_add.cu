#include "engine/backend/cuda/bias_add.h"

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

__global__ void bias_add_kernel(uint16_t* out, const float* bias, int64_t n, int64_t d) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n * d;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = float_to_bf16_bits(bf16_bits_to_float(out[i]) + bias[i % d]);
}

}  // namespace

void launch_bias_add(uint16_t* out, const float* bias, int64_t n, int64_t d, void* stream) {
  if (n * d == 0) return;
  bias_add_kernel<<<min(blocks_for(n * d, 256), 65535u), 256, 0, as_stream(stream)>>>(out, bias, n,
                                                                                      d);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
