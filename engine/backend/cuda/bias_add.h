#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// out[i, j] += bias[j]; out bf16 [n, d], bias f32 [d].
void launch_bias_add(uint16_t* out, const float* bias, int64_t n, int64_t d, void* stream);
}  // namespace pdserve::backend::cuda
