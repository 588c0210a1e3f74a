#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// x[i] += y[i] for n bf16 values.
void launch_add(uint16_t* x, const uint16_t* y, int64_t n, void* stream);
}  // namespace pdserve::backend::cuda
