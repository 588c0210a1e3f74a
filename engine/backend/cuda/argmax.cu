#include "engine/backend/cuda/argmax.h"

#include <cfloat>

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kThreads = 512;

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
  return v > bv || (v == bv && i < bi);
}

// One block per row. Each thread reads kVec values per access with kUnroll
// accesses in flight, so a row of the 128k vocabulary takes about 8 rounds
// of memory latency (one value at a time it took 250: 100 us a row).
// kMasked: a token whose bit is clear in the row's mask of `allowed`
// [m, (cols + 31) / 32] counts as -inf, and the best starts at -inf (so a
// row of -inf gives its lowest index, as sample_rows and the CPU do); the
// kVec (<= 32, a power of two) values of an access share one mask word.
template <int kVec, bool kMasked>
__global__ void argmax_kernel(const uint16_t* x, int64_t cols, const uint32_t* allowed,
                              int32_t* out) {
  constexpr int kUnroll = 4;
  __shared__ float s_val[kThreads / 32];
  __shared__ int s_idx[kThreads / 32];
  const uint16_t* row = x + blockIdx.x * cols;
  const uint32_t* mask = kMasked ? allowed + blockIdx.x * ((cols + 31) / 32) : nullptr;
  float best = kMasked ? -INFINITY : -FLT_MAX;
  int best_i = 0x7fffffff;
  // Takes the kVec values v of tokens [j, j + kVec).
  const auto take = [&](const float* v, int64_t j) {
    uint32_t bits = ~0u;
    if constexpr (kMasked) bits = __ldg(&mask[j >> 5]) >> (j & 31);
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      const float value = kMasked && !((bits >> e) & 1u) ? -INFINITY : v[e];
      if (better(value, static_cast<int>(j + e), best, best_i)) {
        best = value;
        best_i = static_cast<int>(j + e);
      }
    }
  };
  constexpr int64_t kStride = int64_t{kThreads} * kVec;
  int64_t j = int64_t{threadIdx.x} * kVec;
  for (; j + (kUnroll - 1) * kStride + kVec <= cols; j += kUnroll * kStride) {
    float v[kUnroll][kVec];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) load_bf16<kVec>(row + j + u * kStride, v[u]);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) take(v[u], j + u * kStride);
  }
  for (; j + kVec <= cols; j += kStride) {
    float v[kVec];
    load_bf16<kVec>(row + j, v);
    take(v, j);
  }
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(0xffffffffu, best, o);
    const int i = __shfl_xor_sync(0xffffffffu, best_i, o);
    if (better(v, i, best, best_i)) {
      best = v;
      best_i = i;
    }
  }
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) {
    s_val[warp] = best;
    s_idx[warp] = best_i;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kThreads / 32; ++w)
      if (better(s_val[w], s_idx[w], best, best_i)) {
        best = s_val[w];
        best_i = s_idx[w];
      }
    out[blockIdx.x] = best_i;
  }
}

template <bool kMasked>
void launch(const uint16_t* x, int64_t m, int64_t cols, const uint32_t* allowed, int32_t* out,
            void* stream) {
  const dim3 grid(static_cast<unsigned>(m));
  if (bf16_vector_width(cols, {x}) == 8)
    argmax_kernel<8, kMasked><<<grid, kThreads, 0, as_stream(stream)>>>(x, cols, allowed, out);
  else
    argmax_kernel<1, kMasked><<<grid, kThreads, 0, as_stream(stream)>>>(x, cols, allowed, out);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_argmax(const uint16_t* x, int64_t m, int64_t cols, const uint32_t* allowed,
                   int32_t* out, void* stream) {
  if (m == 0) return;
  if (allowed)
    launch<true>(x, m, cols, allowed, out, stream);
  else
    launch<false>(x, m, cols, allowed, out, stream);
}

}  // namespace pdserve::backend::cuda
