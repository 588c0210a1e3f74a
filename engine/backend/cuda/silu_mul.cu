#include "engine/backend/cuda/silu_mul.h"

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

__global__ void silu_mul_kernel(const uint16_t* gu, int64_t n, int64_t d, uint16_t* out) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n * d;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / d, col = i % d;
    const float g = bf16_bits_to_float(gu[row * 2 * d + col]);
    const float u = bf16_bits_to_float(gu[row * 2 * d + d + col]);
    out[i] = float_to_bf16_bits(g / (1.0f + __expf(-g)) * u);
  }
}

}  // namespace

void launch_silu_mul(const uint16_t* gate_up, int64_t n, int64_t d, uint16_t* out, void* stream) {
  if (n * d == 0) return;
  const unsigned grid = min(blocks_for(n * d, 256), 65535u);
  silu_mul_kernel<<<grid, 256, 0, as_stream(stream)>>>(gate_up, n, d, out);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
