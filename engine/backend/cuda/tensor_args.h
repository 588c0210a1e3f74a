// The CUDA backend's view of its tensors at an op's boundary: bf16 data as
// raw 16-bit words for the launchers, and the dtype check of every op.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "engine/backend/tensor.h"

namespace pdserve::backend::cuda {

inline const uint16_t* bf16(const Tensor& t) {
  return static_cast<const uint16_t*>(t.data());
}
inline uint16_t* bf16_mut(Tensor& t) {
  return static_cast<uint16_t*>(t.data());
}

inline void expect_bf16(const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    PD_CHECK(t->dtype() == DType::kBF16)
        << op << ": expected bfloat16, got " << dtype_name(t->dtype());
}

}  // namespace pdserve::backend::cuda
