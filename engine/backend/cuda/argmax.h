#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// out[i] = argmax_j x[i, j] over bf16 rows (lowest j on ties); x [m, cols], out [m].
// With `allowed` [m, (cols + 31) / 32] (not null), a token whose bit is clear
// in row i's words counts as -inf (Backend::masked_argmax_rows).
void launch_argmax(const uint16_t* x, int64_t m, int64_t cols, const uint32_t* allowed,
                   int32_t* out, void* stream);
}  // namespace pdserve::backend::cuda
