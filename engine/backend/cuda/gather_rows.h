#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// out[i, :] = x[idx[i], :], rows of row_bytes bytes (a multiple of 2).
void launch_gather_rows(const void* x, const int32_t* idx, int64_t m, int64_t row_bytes, void* out,
                        void* stream);
}  // namespace pdserve::backend::cuda
