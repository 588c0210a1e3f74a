// y[m, n] = in(x)[m, k] @ w[n, k]^T for the few tokens of a decode step
// (m <= kGemvMaxTokens): bf16 in and out, fp32 accumulation, each weight read
// once, no split-K reduction kernel. The input may be x itself, its RMSNorm,
// or SiLU(gate) * up of a fused gate-up row; the result may be added to y
// (the residual stream). A token's result does not depend on the other
// tokens of the call: row t of y is the same bits for any m. Not on the
// engine's path: slower than cuBLASLt so far (docs/PERFORMANCE.md, "A decode
// GEMV on tensor cores"); tools/gemv_bench measures it.
#pragma once

#include <cstdint>

namespace pdserve::backend::cuda {

constexpr int kGemvMaxTokens = 16;

// What the kernel multiplies by w (per token row, k values).
enum class GemvInput {
  kPlain,    // x [m, k]
  kRmsNorm,  // rmsnorm(x) with norm_weight [k] f32 and norm_eps, x [m, k]
  kSiluMul,  // silu(x[:, :k]) * x[:, k:], rounded to bf16 as silu_mul writes it, x [m, 2k]
};

struct GemvArgs {
  const uint16_t* x;         // [m, k], kSiluMul: [m, 2k]
  const float* norm_weight;  // [k] (kRmsNorm only)
  float norm_eps;            // (kRmsNorm only)
  const uint16_t* w;         // [n, k]
  const float* bias;         // [n] or null
  uint16_t* y;               // [m, n]; must not overlap x
  int64_t m, k, n;
};

// True when launch_gemv runs these arguments: 1 <= m <= kGemvMaxTokens,
// n >= 1, k a positive multiple of 8, x and w 16-byte aligned.
bool gemv_supports(const GemvArgs& a);

// y = in(x) @ w^T + bias, or y += that when add_to_y. Requires gemv_supports(a).
void launch_gemv(const GemvArgs& a, GemvInput input, bool add_to_y, void* stream);

}  // namespace pdserve::backend::cuda
