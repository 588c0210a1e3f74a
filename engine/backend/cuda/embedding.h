#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// out[i, :] = table[ids[i], :]; table bf16 [vocab, hidden], out bf16 [n, hidden].
// An id outside [0, vocab) writes zeros (the host validated ids already).
void launch_embedding(const uint16_t* table, const int32_t* ids, int64_t n, int64_t hidden,
                      int64_t vocab, uint16_t* out, void* stream);
}  // namespace pdserve::backend::cuda
