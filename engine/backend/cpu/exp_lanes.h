// exp on four fp32 lanes, for the CPU attention's softmax: the same
// operations on every lane, so a lane's result depends on its own input
// only. Cephes' expf: x = n ln2 + r with n the integer nearest x log2(e)
// and |r| <= ln2 / 2 (ln2 in two parts, so that r is nearly exact), a
// degree-7 polynomial for e^r, and 2^n applied as two powers of two (each a
// normal float over the whole range). Plain multiplies and adds (the
// including file is built with -ffp-contract=off), so the results are the
// same on every x86-64 machine, with FMA or without.
//
// Accuracy (tests/engine/backend/cpu_exp_test.cpp): within 2 ulp of the
// correctly rounded e^x for ln(FLT_MIN) <= x <= ln(FLT_MAX); 0 below (a
// subnormal result is flushed to zero; -inf gives exactly 0, which the
// softmax relies on for the keys a row does not read); +inf above; NaN for NaN.
#pragma once

#include <bit>
#include <cstdint>

#include "engine/backend/cpu/lanes.h"

namespace pdserve::backend::cpu {

using I4 = int32_t __attribute__((vector_size(4 * sizeof(int32_t))));

PD_ALWAYS_INLINE F4 exp_lanes(F4 x) {
  constexpr float kMinArg = -87.33654475f;  // ln(FLT_MIN)
  constexpr float kMaxArg = 88.72283935f;   // just above ln(FLT_MAX): e^kMaxArg overflows
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;  // 9 bits: n * kLn2Hi is exact
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const F4 clamped = x < kMinArg ? splat(kMinArg) : (x > kMaxArg ? splat(kMaxArg) : x);
  const F4 t = clamped * kLog2e + kRound;
  const F4 n = t - kRound;
  const I4 ni = std::bit_cast<I4>(t) - std::bit_cast<I4>(splat(kRound));  // -126 to 128
  F4 r = clamped - n * kLn2Hi;
  r = r - n * kLn2Lo;
  F4 p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const I4 half = ni >> 1;  // 2^n = 2^half * 2^(n - half), both in the normal range
  const F4 scale_a = std::bit_cast<F4>((half + 127) << 23);
  const F4 scale_b = std::bit_cast<F4>((ni - half + 127) << 23);
  const F4 e = p * scale_a * scale_b;
  return x < kMinArg ? F4{} : e;
}

}  // namespace pdserve::backend::cpu
