// Device-side helpers shared by the kernels: bf16 <-> float, warp sums.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>
#include <initializer_list>

namespace pdserve::backend::cuda {

__device__ __forceinline__ float bf16_bits_to_float(uint16_t b) {
  return __uint_as_float(static_cast<uint32_t>(b) << 16);
}

__device__ __forceinline__ uint16_t float_to_bf16_bits(float f) {
  __nv_bfloat16 h = __float2bfloat16_rn(f);
  return *reinterpret_cast<uint16_t*>(&h);
}

// Eight bf16 values packed in 16 bytes (the first in the low half of r.x)
// <-> floats; a pair of floats -> two bf16 values in one word.
__device__ __forceinline__ void unpack_bf16x8(const uint4& r, float (&f)[8]) {
  const uint32_t w[4] = {r.x, r.y, r.z, r.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    f[2 * i] = __uint_as_float(w[i] << 16);
    f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  return static_cast<uint32_t>(float_to_bf16_bits(lo)) |
         static_cast<uint32_t>(float_to_bf16_bits(hi)) << 16;
}

// N consecutive bf16 values <-> floats: N = 8 is one 16-byte access (p
// 16-byte aligned), N = 1 a scalar one.
template <int N>
__device__ __forceinline__ void load_bf16(const uint16_t* p, float (&f)[N]) {
  if constexpr (N == 8) {
    unpack_bf16x8(*reinterpret_cast<const uint4*>(p), f);
  } else {
    static_assert(N == 1, "load_bf16: 1 or 8 values");
    f[0] = bf16_bits_to_float(*p);
  }
}

template <int N>
__device__ __forceinline__ void store_bf16(uint16_t* p, const float (&f)[N]) {
  if constexpr (N == 8) {
    *reinterpret_cast<uint4*>(p) = make_uint4(pack_bf16x2(f[0], f[1]), pack_bf16x2(f[2], f[3]),
                                              pack_bf16x2(f[4], f[5]), pack_bf16x2(f[6], f[7]));
  } else {
    static_assert(N == 1, "store_bf16: 1 or 8 values");
    *p = float_to_bf16_bits(f[0]);
  }
}

// The widest access (8 or 1 values) every pointer's alignment and the row
// length d allow.
inline int bf16_vector_width(int64_t d, std::initializer_list<const void*> ptrs) {
  if (d % 8 != 0) return 1;
  for (const void* p : ptrs)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return 1;
  return 8;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

}  // namespace pdserve::backend::cuda
