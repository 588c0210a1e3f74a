// out = x @ w^T (+ bias) with fp32 accumulation. Work is split over tiles of
// weight rows; each tile is converted to fp32 once and reused for every
// token, so decode (few tokens) streams the weights once and prefill reuses
// them from cache.
#include <algorithm>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"

namespace pdserve::backend::cpu {
namespace {

constexpr int64_t kTileRows = 16;
constexpr int64_t kTokenBlock = 32;

// Eight independent partial sums so that the compiler vectorises without
// reassociating a single accumulator.
inline float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[k + j] * b[k + j];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; k < n; ++k) s += a[k] * b[k];
  return s;
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
          const float b = bias ? bias->as<float>()[r] : 0.0f;
          for (int64_t i = i0; i < i1; ++i) ys[i * rows + r] = dot(xs + i * in, wr, in) + b;
        }
      }
    }
  });
}

}  // namespace pdserve::backend::cpu
