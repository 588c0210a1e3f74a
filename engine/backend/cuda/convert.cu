#include "engine/backend/cuda/convert.h"

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

template <DType T>
__device__ __forceinline__ float load(const void* p, int64_t i) {
  if constexpr (T == DType::kF32) return static_cast<const float*>(p)[i];
  if constexpr (T == DType::kBF16) return bf16_bits_to_float(static_cast<const uint16_t*>(p)[i]);
  if constexpr (T == DType::kF16) return __half2float(static_cast<const __half*>(p)[i]);
  return 0.0f;
}

template <DType T>
__device__ __forceinline__ void store(void* p, int64_t i, float v) {
  if constexpr (T == DType::kF32) static_cast<float*>(p)[i] = v;
  if constexpr (T == DType::kBF16) static_cast<uint16_t*>(p)[i] = float_to_bf16_bits(v);
  if constexpr (T == DType::kF16) static_cast<__half*>(p)[i] = __float2half_rn(v);
}

template <DType S, DType D>
__global__ void convert_kernel(const void* src, void* dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    store<D>(dst, i, load<S>(src, i));
}

template <DType S>
void launch_from(const void* src, void* dst, DType d, int64_t n, cudaStream_t s) {
  const unsigned grid = blocks_for(n, 256) < 65535u ? blocks_for(n, 256) : 65535u;
  switch (d) {
    case DType::kF32:
      convert_kernel<S, DType::kF32><<<grid, 256, 0, s>>>(src, dst, n);
      PD_CUDA_CHECK(cudaGetLastError());
      return;
    case DType::kBF16:
      convert_kernel<S, DType::kBF16><<<grid, 256, 0, s>>>(src, dst, n);
      PD_CUDA_CHECK(cudaGetLastError());
      return;
    case DType::kF16:
      convert_kernel<S, DType::kF16><<<grid, 256, 0, s>>>(src, dst, n);
      PD_CUDA_CHECK(cudaGetLastError());
      return;
    case DType::kI32: break;
  }
  PD_CHECK(false) << "convert: unsupported destination " << dtype_name(d);
}

}  // namespace

void launch_convert(const void* src, DType src_dtype, void* dst, DType dst_dtype, int64_t n,
                    void* stream) {
  if (n == 0) return;
  cudaStream_t s = as_stream(stream);
  switch (src_dtype) {
    case DType::kF32: launch_from<DType::kF32>(src, dst, dst_dtype, n, s); return;
    case DType::kBF16: launch_from<DType::kBF16>(src, dst, dst_dtype, n, s); return;
    case DType::kF16: launch_from<DType::kF16>(src, dst, dst_dtype, n, s); return;
    case DType::kI32: break;
  }
  PD_CHECK(false) << "convert: unsupported source " << dtype_name(src_dtype);
}

}  // namespace pdserve::backend::cuda
