#include "engine/backend/cuda/silu_mul.h"

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kThreads = 256;

// Each thread takes kVec consecutive outputs of a row (8: 16-byte accesses).
template <int kVec>
__global__ void silu_mul_kernel(const uint16_t* gu, int64_t n, int64_t d, uint16_t* out) {
  const int64_t per_row = d / kVec;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n * per_row;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / per_row, col = i % per_row * kVec;
    float g[kVec], u[kVec], o[kVec];
    load_bf16<kVec>(gu + row * 2 * d + col, g);
    load_bf16<kVec>(gu + row * 2 * d + d + col, u);
#pragma unroll
    for (int k = 0; k < kVec; ++k) o[k] = g[k] / (1.0f + __expf(-g[k])) * u[k];
    store_bf16<kVec>(out + row * d + col, o);
  }
}

}  // namespace

void launch_silu_mul(const uint16_t* gate_up, int64_t n, int64_t d, uint16_t* out, void* stream) {
  if (n * d == 0) return;
  cudaStream_t s = as_stream(stream);
  if (bf16_vector_width(d, {gate_up, out}) == 8) {
    const unsigned grid = min(blocks_for(n * d / 8, kThreads), 65535u);
    silu_mul_kernel<8><<<grid, kThreads, 0, s>>>(gate_up, n, d, out);
  } else {
    const unsigned grid = min(blocks_for(n * d, kThreads), 65535u);
    silu_mul_kernel<1><<<grid, kThreads, 0, s>>>(gate_up, n, d, out);
  }
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
