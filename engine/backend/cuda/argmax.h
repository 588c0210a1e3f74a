#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// out[i] = argmax_j x[i, j] over bf16 rows (lowest j on ties); x [m, cols], out [m].
void launch_argmax(const uint16_t* x, int64_t m, int64_t cols, int32_t* out, void* stream);
}  // namespace pdserve::backend::cuda
