#include "engine/backend/cuda/rmsnorm.h"

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row; the row is kept in shared memory as fp32.
__global__ void rmsnorm_kernel(const uint16_t* x, uint16_t* residual, const float* w, float eps,
                               int64_t d, uint16_t* out) {
  extern __shared__ float row[];
  __shared__ float partial[kThreads / 32];
  const int64_t base = blockIdx.x * d;
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    float v = bf16_bits_to_float(x[base + j]);
    if (residual) {
      v += bf16_bits_to_float(residual[base + j]);
      const uint16_t stored = float_to_bf16_bits(v);
      residual[base + j] = stored;
      v = bf16_bits_to_float(stored);  // normalise what the residual stream holds
    }
    row[j] = v;
    sum += v * v;
  }
  sum = warp_sum(sum);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = sum;
  __syncthreads();
  if (threadIdx.x < 32) {
    float s = threadIdx.x < kThreads / 32 ? partial[threadIdx.x] : 0.0f;
    s = warp_sum(s);
    if (threadIdx.x == 0) partial[0] = s;
  }
  __syncthreads();
  const float inv = rsqrtf(partial[0] / static_cast<float>(d) + eps);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
    out[base + j] = float_to_bf16_bits(w[j] * (row[j] * inv));
}

}  // namespace

void launch_rmsnorm(const uint16_t* x, uint16_t* residual, const float* w, float eps, int64_t n,
                    int64_t d, uint16_t* out, void* stream) {
  if (n == 0) return;
  const size_t shmem = static_cast<size_t>(d) * sizeof(float);
  rmsnorm_kernel<<<static_cast<unsigned>(n), kThreads, shmem, as_stream(stream)>>>(x, residual, w,
                                                                                   eps, d, out);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
