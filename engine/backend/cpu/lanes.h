// Eight fp32 lanes for the CPU kernels (GCC vector extensions): two
// 128-bit registers, spelled out as a pair because GCC lowers a 32-byte
// vector through the stack on the baseline x86-64 target. A kernel built
// with [[gnu::target("avx")]] over them runs the same operations in the
// VEX encoding (cpu_matmul.cpp); one built for FMA fuses each multiply-add
// (FusedMulAdd: one rounding instead of two, so its results differ from
// the others' in the last bits). An AVX2 build over one 32-byte register
// measured slower on this project's machine (AMD EPYC Zen 1: 256-bit
// operations issue as two 128-bit halves, and widening bf16 needs a
// cross-lane permute), so there is none.
#pragma once

#include <immintrin.h>

#include <cstring>

namespace pdserve::backend::cpu {

#define PD_ALWAYS_INLINE [[gnu::always_inline]] inline

using F4 = float __attribute__((vector_size(4 * sizeof(float))));

// x in every lane (a broadcast; `F4{} + x` would be an add).
PD_ALWAYS_INLINE F4 splat(float x) {
  return F4{x, x, x, x};
}

struct F8 {
  F4 lo, hi;

  PD_ALWAYS_INLINE float operator[](int i) const { return i < 4 ? lo[i] : hi[i - 4]; }
  PD_ALWAYS_INLINE void set(int i, float v) {
    if (i < 4) {
      lo[i] = v;
    } else {
      hi[i - 4] = v;
    }
  }
  PD_ALWAYS_INLINE F8& operator+=(const F8& b) {
    lo += b.lo;
    hi += b.hi;
    return *this;
  }
  PD_ALWAYS_INLINE friend F8 operator*(const F8& a, const F8& b) {
    return {a.lo * b.lo, a.hi * b.hi};
  }
  PD_ALWAYS_INLINE friend F8 operator*(const F8& a, float b) { return {a.lo * b, a.hi * b}; }
};

// acc += a * b lane by lane, as a separate multiply and add (two roundings).
struct MulAdd {
  PD_ALWAYS_INLINE static void apply(F4& acc, F4 a, F4 b) { acc += a * b; }
  PD_ALWAYS_INLINE static void apply(F8& acc, const F8& a, const F8& b) { acc += a * b; }
};
// The same as one fused multiply-add per lane (one rounding). Only callable
// from code built for FMA: a caller marked [[gnu::target("avx,fma"),
// gnu::flatten]] inlines it (an always_inline function without the target
// could not).
struct FusedMulAdd {
  [[gnu::target("avx,fma")]] static inline void apply(F4& acc, F4 a, F4 b) {
    acc = _mm_fmadd_ps(a, b, acc);
  }
  [[gnu::target("avx,fma")]] static inline void apply(F8& acc, const F8& a, const F8& b) {
    acc.lo = _mm_fmadd_ps(a.lo, b.lo, acc.lo);
    acc.hi = _mm_fmadd_ps(a.hi, b.hi, acc.hi);
  }
};

// v = p[0..7]
PD_ALWAYS_INLINE void load(const float* p, F8& v) {
  std::memcpy(&v.lo, p, sizeof(v.lo));
  std::memcpy(&v.hi, p + 4, sizeof(v.hi));
}

}  // namespace pdserve::backend::cpu
