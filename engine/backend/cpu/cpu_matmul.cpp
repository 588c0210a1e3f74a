// out = x @ w^T (+ bias) with fp32 accumulation. Work is split over tiles of
// weight rows; each tile is converted to fp32 once and reused for every
// token, so decode (few tokens) streams the weights once and prefill reuses
// them from cache.
//
// The micro-kernel computes up to kMaxTokens tokens against one weight row
// per pass over the reduction dimension: each weight value loaded serves
// every token of the block, and the tokens' independent accumulators hide
// the add latency that bounds a single dot product. Every (token, weight
// row) result is computed by the same sequence of fp32 operations whatever
// the block it falls in (eight partial sums over k mod 8, reduced in one
// fixed tree, then the tail, then the bias), so a token's output is bitwise
// the same whether it is computed alone or with other tokens: greedy
// decoding with speculation (k + 1 tokens per forward) reproduces plain
// decoding token for token. CMake compiles this file with -ffp-contract=off
// so that no multiply-add is fused in one block shape and not in another.
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"

namespace pdserve::backend::cpu {
namespace {

constexpr int64_t kTileRows = 16;
constexpr int64_t kTokenBlock = 32;
constexpr int kMaxTokens = 8;

// Four lanes (GCC vector extension: one SSE register on the baseline x86-64
// target); the eight partial sums of a dot product are two of them.
using Lanes = float __attribute__((vector_size(4 * sizeof(float))));

Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// y[i * y_stride] = x_i . w (+ *bias) for i < R; x rows are `in` floats apart.
template <int R>
void micro_kernel(const float* x, const float* w, int64_t in, const float* bias, float* y,
                  int64_t y_stride) {
  Lanes lo[R] = {}, hi[R] = {};
  int64_t k = 0;
  for (; k + 8 <= in; k += 8) {
    const Lanes wl = load(w + k), wh = load(w + k + 4);
    for (int i = 0; i < R; ++i) {
      lo[i] += load(x + i * in + k) * wl;
      hi[i] += load(x + i * in + k + 4) * wh;
    }
  }
  for (int i = 0; i < R; ++i) {
    float s = ((lo[i][0] + lo[i][1]) + (lo[i][2] + lo[i][3])) +
              ((hi[i][0] + hi[i][1]) + (hi[i][2] + hi[i][3]));
    for (int64_t t = k; t < in; ++t) s += x[i * in + t] * w[t];
    y[i * y_stride] = s + (bias ? *bias : 0.0f);
  }
}

// The first num_tokens (1 to kMaxTokens) tokens of x against one weight row.
template <int R = kMaxTokens>
void token_block(int64_t num_tokens, const float* x, const float* w, int64_t in, const float* bias,
                 float* y, int64_t y_stride) {
  if constexpr (R > 1) {
    if (num_tokens < R) return token_block<R - 1>(num_tokens, x, w, in, bias, y, y_stride);
  }
  micro_kernel<R>(x, w, in, bias, y, y_stride);
}

}  // namespace

void CpuBackend::matmul(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& out) {
  PD_CHECK(x.rank() == 2 && w.rank() == 2 && out.rank() == 2 && x.dtype() == DType::kF32 &&
           out.dtype() == DType::kF32 && x.dim(1) == w.dim(1) && out.dim(0) == x.dim(0) &&
           out.dim(1) == w.dim(0))
      << "matmul: x " << x.shape().to_string() << " w " << w.shape().to_string() << " out "
      << out.shape().to_string();
  PD_CHECK(bias == nullptr || (bias->dtype() == DType::kF32 && bias->numel() == w.dim(0)))
      << "matmul: bias " << bias->shape().to_string() << " for w " << w.shape().to_string();
  const int64_t n = x.dim(0), in = x.dim(1), rows = w.dim(0);
  const float* xs = x.as<float>();
  const float* bs = bias ? bias->as<float>() : nullptr;
  float* ys = out.as<float>();
  const bool direct = w.dtype() == DType::kF32;
  const int64_t num_tiles = (rows + kTileRows - 1) / kTileRows;
  pool_.parallel_for(num_tiles, 1, [&](int64_t tb, int64_t te) {
    std::vector<float> tile(direct ? 0 : static_cast<size_t>(kTileRows * in));
    for (int64_t t = tb; t < te; ++t) {
      const int64_t r0 = t * kTileRows, r1 = std::min(rows, r0 + kTileRows);
      const float* wt;
      if (direct) {
        wt = w.as<float>() + r0 * in;
      } else {
        for (int64_t r = r0; r < r1; ++r) load_row_f32(w, r, tile.data() + (r - r0) * in);
        wt = tile.data();
      }
      for (int64_t i0 = 0; i0 < n; i0 += kTokenBlock) {
        const int64_t i1 = std::min(n, i0 + kTokenBlock);
        for (int64_t r = r0; r < r1; ++r) {
          const float* wr = wt + (r - r0) * in;
          const float* br = bs ? bs + r : nullptr;
          for (int64_t i = i0; i < i1; i += kMaxTokens)
            token_block(std::min<int64_t>(kMaxTokens, i1 - i), xs + i * in, wr, in, br,
                        ys + i * rows + r, rows);
        }
      }
    }
  });
}

}  // namespace pdserve::backend::cpu
