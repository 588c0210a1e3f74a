#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// out = rmsnorm(x) * w over rows of d; with residual != nullptr, first
// residual += x (in fp32, stored bf16) and the norm is of the sum.
// x, residual, out bf16 [n, d]; w f32 [d].
void launch_rmsnorm(const uint16_t* x, uint16_t* residual, const float* w, float eps, int64_t n,
                    int64_t d, uint16_t* out, void* stream);
}  // namespace pdserve::backend::cuda
