#include "engine/backend/cuda/rmsnorm.h"

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kThreads = 256;

// One block per row; the row is kept in shared memory as fp32. kResidual:
// residual += x first (stored bf16) and the norm is of what the residual
// stream holds, so add then rmsnorm and the fused op agree bit for bit.
// kVec values per access (8: 16-byte loads and stores).
template <bool kResidual, int kVec>
__global__ void rmsnorm_kernel(const uint16_t* x, uint16_t* residual, const float* w, float eps,
                               int64_t d, uint16_t* out) {
  extern __shared__ float row[];
  __shared__ float partial[kThreads / 32];
  const int64_t base = blockIdx.x * d;
  float sum = 0.0f;
  for (int64_t j = threadIdx.x * kVec; j < d; j += blockDim.x * kVec) {
    float v[kVec];
    load_bf16<kVec>(x + base + j, v);
    if constexpr (kResidual) {
      float r[kVec];
      load_bf16<kVec>(residual + base + j, r);
#pragma unroll
      for (int i = 0; i < kVec; ++i) v[i] = bf16_bits_to_float(float_to_bf16_bits(v[i] + r[i]));
      store_bf16<kVec>(residual + base + j, v);  // exact: v holds bf16 values
    }
#pragma unroll
    for (int i = 0; i < kVec; ++i) {
      row[j + i] = v[i];
      sum += v[i] * v[i];
    }
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
  for (int64_t j = threadIdx.x * kVec; j < d; j += blockDim.x * kVec) {
    float o[kVec];
#pragma unroll
    for (int i = 0; i < kVec; ++i) o[i] = w[j + i] * (row[j + i] * inv);
    store_bf16<kVec>(out + base + j, o);
  }
}

template <bool kResidual>
void launch(const uint16_t* x, uint16_t* residual, const float* w, float eps, int64_t n, int64_t d,
            uint16_t* out, cudaStream_t s) {
  const size_t shmem = static_cast<size_t>(d) * sizeof(float);
  const auto grid = static_cast<unsigned>(n);
  if (bf16_vector_width(d, {x, residual, out}) == 8)
    rmsnorm_kernel<kResidual, 8><<<grid, kThreads, shmem, s>>>(x, residual, w, eps, d, out);
  else
    rmsnorm_kernel<kResidual, 1><<<grid, kThreads, shmem, s>>>(x, residual, w, eps, d, out);
}

}  // namespace

void launch_rmsnorm(const uint16_t* x, uint16_t* residual, const float* w, float eps, int64_t n,
                    int64_t d, uint16_t* out, void* stream) {
  if (n == 0) return;
  if (residual)
    launch<true>(x, residual, w, eps, n, d, out, as_stream(stream));
  else
    launch<false>(x, residual, w, eps, n, d, out, as_stream(stream));
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
