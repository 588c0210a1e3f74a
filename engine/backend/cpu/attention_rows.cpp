#include "engine/backend/cpu/attention_rows.h"

#include <algorithm>
#include <cstddef>
#include <limits>

#include "engine/backend/cpu/exp_lanes.h"

namespace pdserve::backend::cpu {
namespace {

// Q registers of four rows each; Mac: MulAdd or FusedMulAdd. Passes of
// kKeys keys over d (scores) and of kDims dims over the keys (weighted sum)
// keep eight sums in registers.
template <int Q, class Mac>
PD_ALWAYS_INLINE void attend(const AttentionRows& a, F4* scratch) {
  constexpr int kKeys = 8 / Q, kDims = 8 / Q;
  const int hd = a.head_dim, span = a.hi - a.lo + 1;
  F4* qt = scratch;  // [hd][Q]: the queries, rows as lanes
  F4* probs =
      scratch + static_cast<std::ptrdiff_t>(hd) * Q;  // [span][Q]: scores, then e^(score - max)
  // Lanes past the last row repeat it, so that they compute finite values.
  I4 first[Q], last[Q];
  for (int q = 0; q < Q; ++q) {
    for (int l = 0; l < 4; ++l) {
      const int row = std::min(q * 4 + l, a.num_rows - 1);
      first[q][l] = a.first[row];
      last[q][l] = a.last[row];
      for (int d = 0; d < hd; ++d) qt[d * Q + q][l] = a.q[row][d];
    }
  }
  const F4 minus_inf = splat(-std::numeric_limits<float>::infinity());
  for (int j0 = 0; j0 < span; j0 += kKeys) {
    const float* k[kKeys];
    for (int u = 0; u < kKeys; ++u) k[u] = a.k[std::min(j0 + u, span - 1)];
    F4 dot[kKeys][Q];  // zeroed one by one: `= {}` compiles to a memset of the stack copy
    for (int u = 0; u < kKeys; ++u)
      for (int q = 0; q < Q; ++q) dot[u][q] = F4{};
    for (int d = 0; d < hd; ++d) {
      for (int u = 0; u < kKeys; ++u) {
        const F4 kd = splat(k[u][d]);
        for (int q = 0; q < Q; ++q) Mac::apply(dot[u][q], qt[d * Q + q], kd);
      }
    }
    for (int u = 0; u < kKeys && j0 + u < span; ++u) {
      const I4 key = I4{} + (a.lo + j0 + u);
      for (int q = 0; q < Q; ++q)
        probs[(j0 + u) * Q + q] =
            (key >= first[q]) & (key <= last[q]) ? dot[u][q] * a.scale : minus_inf;
    }
  }
  F4 max[Q], sum[Q];
  for (int q = 0; q < Q; ++q) max[q] = probs[q];
  for (int j = 1; j < span; ++j)
    for (int q = 0; q < Q; ++q) max[q] = probs[j * Q + q] > max[q] ? probs[j * Q + q] : max[q];
  for (int q = 0; q < Q; ++q) sum[q] = F4{};
  for (int j = 0; j < span; ++j) {
    for (int q = 0; q < Q; ++q) {
      const F4 p = exp_lanes(probs[j * Q + q] - max[q]);
      probs[j * Q + q] = p;
      sum[q] += p;
    }
  }
  for (int d0 = 0; d0 < hd; d0 += kDims) {
    const int num_dims = std::min(kDims, hd - d0);
    int dim[kDims];  // past the last dimension, the last one again
    for (int c = 0; c < kDims; ++c) dim[c] = d0 + std::min(c, num_dims - 1);
    F4 acc[kDims][Q];
    for (int c = 0; c < kDims; ++c)
      for (int q = 0; q < Q; ++q) acc[c][q] = F4{};
    for (int j = 0; j < span; ++j) {
      const float* v = a.v[j];
      for (int c = 0; c < kDims; ++c) {
        const F4 vd = splat(v[dim[c]]);
        for (int q = 0; q < Q; ++q) Mac::apply(acc[c][q], probs[j * Q + q], vd);
      }
    }
    for (int c = 0; c < num_dims; ++c) {
      for (int q = 0; q < Q; ++q) {
        const F4 o = acc[c][q] / sum[q];
        for (int l = 0; l < 4 && q * 4 + l < a.num_rows; ++l) a.out[q * 4 + l][d0 + c] = o[l];
      }
    }
  }
}

void attend_base(const AttentionRows& a, F4* scratch) {
  if (a.num_rows <= 4) {
    attend<1, MulAdd>(a, scratch);
  } else {
    attend<2, MulAdd>(a, scratch);
  }
}
[[gnu::target("avx,fma"), gnu::flatten]] void attend_fma(const AttentionRows& a, F4* scratch) {
  if (a.num_rows <= 4) {
    attend<1, FusedMulAdd>(a, scratch);
  } else {
    attend<2, FusedMulAdd>(a, scratch);
  }
}

}  // namespace

void attend_rows(const AttentionRows& rows, std::vector<F4>& scratch) {
  static const auto kernel = __builtin_cpu_supports("fma") ? attend_fma : attend_base;
  scratch.resize(2 *
                 (static_cast<size_t>(rows.head_dim) + static_cast<size_t>(rows.hi - rows.lo) + 1));
  kernel(rows, scratch.data());
}

}  // namespace pdserve::backend::cpu
