#pragma once
#include <cstdint>

#include "engine/backend/dtype.h"

namespace pdserve::backend::cuda {
// dst[i] = src[i] converted between float dtypes (f32, f16, bf16), on `stream`.
void launch_convert(const void* src, DType src_dtype, void* dst, DType dst_dtype, int64_t n,
                    void* stream);
}  // namespace pdserve::backend::cuda
