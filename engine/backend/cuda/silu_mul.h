#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// out[i, j] = silu(gate_up[i, j]) * gate_up[i, d + j]; bf16, gate_up [n, 2d], out [n, d].
void launch_silu_mul(const uint16_t* gate_up, int64_t n, int64_t d, uint16_t* out, void* stream);
}  // namespace pdserve::backend::cuda
