// out = x @ w^T (+ bias) with fp32 accumulation. Work is split over tiles of
// weight rows. fp32 and bf16 weights are read where they lie (bf16 widened
// in registers, an exact conversion), so decode streams the weights once
// while it computes; fp16 tiles are converted to fp32 once and reused for
// every token.
//
// The micro-kernel computes up to kMaxTokens tokens against a few weight
// rows per pass over the reduction dimension: each weight value loaded
// serves every token of the block, each token value every row, and the
// independent accumulators hide the add latency that bounds a single dot
// product. Every (token, weight row) result is computed by the same
// sequence of fp32 operations whatever the block it falls in (eight partial
// sums over k mod 8, reduced in one fixed tree, then the tail, then the
// bias), so a token's output is bitwise the same whether it is computed
// alone or with other tokens: greedy decoding with speculation (k + 1
// tokens per forward) reproduces plain decoding token for token. CMake
// compiles this file with -ffp-contract=off so that no multiply-add is
// fused in one block shape and not in another; on a CPU with FMA every
// block shape fuses the partial sums' multiply-adds explicitly
// (FusedMulAdd), so results differ between machines with and without FMA,
// never between batch shapes.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cpu/lanes.h"

namespace pdserve::backend::cpu {
namespace {

constexpr int64_t kTileRows = 16;
constexpr int64_t kTokenBlock = 32;
constexpr int kMaxTokens = 8;
// How far ahead of the kernel each weight row is fetched: one token's pass
// is too short to hide the memory latency behind its own arithmetic.
constexpr int64_t kPrefetchBytes = 4096;

using Halves = uint16_t __attribute__((vector_size(8 * sizeof(uint16_t))));

// bf16 weights are kept as their raw bits.
struct Bf16 {
  uint16_t bits;
};

using cpu::load;  // fp32 values (lanes.h); bf16 ones below

// Each bf16 becomes the high half of an fp32 whose low half is zero.
PD_ALWAYS_INLINE void load(const Bf16* p, F8& v) {
  Halves h;
  std::memcpy(&h, p, sizeof(h));
  const Halves lo = __builtin_shufflevector(Halves{}, h, 0, 8, 1, 9, 2, 10, 3, 11);
  const Halves hi = __builtin_shufflevector(Halves{}, h, 4, 12, 5, 13, 6, 14, 7, 15);
  std::memcpy(&v.lo, &lo, sizeof(v.lo));
  std::memcpy(&v.hi, &hi, sizeof(v.hi));
}

PD_ALWAYS_INLINE float scalar(const float* p) {
  return *p;
}
PD_ALWAYS_INLINE float scalar(const Bf16* p) {
  return bf16_to_f32(p->bits);
}

// Lanes [4 H, 4 H + 4) of p[0..7] (the F8 load's lo or hi half).
template <int H>
PD_ALWAYS_INLINE void load_half(const float* p, F4& v) {
  std::memcpy(&v, p + (H == 0 ? 0 : 4), sizeof(v));
}
template <int H>
PD_ALWAYS_INLINE void load_half(const Bf16* p, F4& v) {
  Halves h;
  std::memcpy(&h, p, sizeof(h));
  const Halves wide = H == 0 ? __builtin_shufflevector(Halves{}, h, 0, 8, 1, 9, 2, 10, 3, 11)
                             : __builtin_shufflevector(Halves{}, h, 4, 12, 5, 13, 6, 14, 7, 15);
  std::memcpy(&v, &wide, sizeof(v));
}

// y = the eight partial sums of x . w over k < k_end (k_end a multiple of
// 8) reduced in one fixed tree, then the tail k >= k_end, then the bias.
template <class W>
PD_ALWAYS_INLINE float finish(const F8& a, const float* x, const W* w, int64_t k_end, int64_t in,
                              const float* bias) {
  float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  for (int64_t t = k_end; t < in; ++t) s += x[t] * scalar(w + t);
  return s + (bias ? *bias : 0.0f);
}

// y[i * y_stride + j] = x_i . w_j (+ bias[j]) for i < R tokens, j < RB weight
// rows; x rows and w rows are `in` values apart. Mac: MulAdd or FusedMulAdd.
template <int R, int RB, class W, class Mac>
PD_ALWAYS_INLINE void micro_kernel(const float* x, const W* w, int64_t in, const float* bias,
                                   float* y, int64_t y_stride) {
  F8 acc[R][RB];  // zeroed lane by lane: `= {}` compiles to a memset of the stack copy
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < RB; ++j) acc[i][j] = {F4{}, F4{}};
  int64_t k = 0;
  for (; k + 8 <= in; k += 8) {
    F8 wv[RB];
    for (int j = 0; j < RB; ++j) {
      __builtin_prefetch(w + j * in + k + kPrefetchBytes / sizeof(W));
      load(w + j * in + k, wv[j]);
    }
    for (int i = 0; i < R; ++i) {
      F8 xv;
      load(x + i * in + k, xv);
      for (int j = 0; j < RB; ++j) Mac::apply(acc[i][j], xv, wv[j]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < RB; ++j)
      y[i * y_stride + j] =
          finish(acc[i][j], x + i * in, w + j * in, k, in, bias ? bias + j : bias);
}

// The same sums as micro_kernel, the two halves of each token's and row's
// eight partial sums computed in two passes over k (lanes 0-3, then 4-7),
// so that the sums of R tokens times RB rows fit the registers and each
// load of a token's values serves RB rows. The second pass reads the rows
// again from the cache.
template <int R, int RB, class W, class Mac>
PD_ALWAYS_INLINE void micro_kernel_halves(const float* x, const W* w, int64_t in, const float* bias,
                                          float* y, int64_t y_stride) {
  F8 sums[R][RB];
  const int64_t k_end = in / 8 * 8;
  auto pass = [&]<int H>() {
    F4 acc[R][RB];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < RB; ++j) acc[i][j] = F4{};
    for (int64_t k = 0; k < k_end; k += 8) {
      F4 wv[RB];
      for (int j = 0; j < RB; ++j) {
        if constexpr (H == 0) __builtin_prefetch(w + j * in + k + kPrefetchBytes / sizeof(W));
        load_half<H>(w + j * in + k, wv[j]);
      }
      for (int i = 0; i < R; ++i) {
        F4 xv;
        load_half<H>(x + i * in + k, xv);
        asm("" : "+x"(xv));  // one load in a register for the RB rows, not one folded into each
        for (int j = 0; j < RB; ++j) Mac::apply(acc[i][j], xv, wv[j]);
      }
    }
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < RB; ++j) (H == 0 ? sums[i][j].lo : sums[i][j].hi) = acc[i][j];
  };
  pass.template operator()<0>();
  pass.template operator()<1>();
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < RB; ++j)
      y[i * y_stride + j] =
          finish(sums[i][j], x + i * in, w + j * in, k_end, in, bias ? bias + j : bias);
}

// Weight rows per pass for R tokens: as many as keep the sums in the 16
// registers with the rows' values and a token's: two registers a sum for
// one or two tokens (micro_kernel), one a sum in each of two passes for
// three to six (micro_kernel_halves), which gains nothing past six.
constexpr int rows_per_pass(int r) {
  return r == 1 ? 4 : (r == 2 ? 2 : (r == 3 ? 3 : (r <= 6 ? 2 : 1)));
}

// The first num_tokens (1 to kMaxTokens) tokens of x against num_rows rows of w.
template <class W, class Mac, int R = kMaxTokens>
PD_ALWAYS_INLINE void token_block(int64_t num_tokens, const float* x, const W* w, int64_t num_rows,
                                  int64_t in, const float* bias, float* y, int64_t y_stride) {
  if constexpr (R > 1) {
    if (num_tokens < R)
      return token_block<W, Mac, R - 1>(num_tokens, x, w, num_rows, in, bias, y, y_stride);
  }
  constexpr int kRows = rows_per_pass(R);
  int64_t r = 0;
  for (; r + kRows <= num_rows; r += kRows) {
    if constexpr (R >= 3 && R <= 6) {
      micro_kernel_halves<R, kRows, W, Mac>(x, w + r * in, in, bias ? bias + r : nullptr, y + r,
                                            y_stride);
    } else {
      micro_kernel<R, kRows, W, Mac>(x, w + r * in, in, bias ? bias + r : nullptr, y + r, y_stride);
    }
  }
  for (; r < num_rows; ++r)
    micro_kernel<R, 1, W, Mac>(x, w + r * in, in, bias ? bias + r : nullptr, y + r, y_stride);
}

// Rows [r0, r1) of w, which starts at row r0 (`wt`), against all n tokens of x.
template <class W, class Mac>
PD_ALWAYS_INLINE void tile(const float* x, int64_t n, const W* wt, int64_t r0, int64_t r1,
                           int64_t rows, int64_t in, const float* bias, float* y) {
  for (int64_t i0 = 0; i0 < n; i0 += kTokenBlock) {
    const int64_t i1 = std::min(n, i0 + kTokenBlock);
    for (int64_t i = i0; i < i1; i += kMaxTokens)
      token_block<W, Mac>(std::min<int64_t>(kMaxTokens, i1 - i), x + i * in, wt, r1 - r0, in,
                          bias ? bias + r0 : nullptr, y + i * rows + r0, rows);
  }
}

// The same kernels in the baseline encoding, in AVX's three-operand (VEX)
// encoding of the same 128-bit operations, which folds the loads into the
// multiplies (fewer instructions for the front end, the same results), and
// with FMA, which also fuses each multiply with its add (half the
// arithmetic instructions; results rounded once).
template <class W>
void tile_sse(const float* x, int64_t n, const W* wt, int64_t r0, int64_t r1, int64_t rows,
              int64_t in, const float* bias, float* y) {
  tile<W, MulAdd>(x, n, wt, r0, r1, rows, in, bias, y);
}
template <class W>
[[gnu::target("avx")]] void tile_avx(const float* x, int64_t n, const W* wt, int64_t r0, int64_t r1,
                                     int64_t rows, int64_t in, const float* bias, float* y) {
  tile<W, MulAdd>(x, n, wt, r0, r1, rows, in, bias, y);
}
template <class W>
[[gnu::target("avx,fma"), gnu::flatten]] void tile_fma(const float* x, int64_t n, const W* wt,
                                                       int64_t r0, int64_t r1, int64_t rows,
                                                       int64_t in, const float* bias, float* y) {
  tile<W, FusedMulAdd>(x, n, wt, r0, r1, rows, in, bias, y);
}
template <class W>
void run_tile(const float* x, int64_t n, const W* wt, int64_t r0, int64_t r1, int64_t rows,
              int64_t in, const float* bias, float* y) {
  static const auto kernel = __builtin_cpu_supports("fma")   ? tile_fma<W>
                             : __builtin_cpu_supports("avx") ? tile_avx<W>
                                                             : tile_sse<W>;
  kernel(x, n, wt, r0, r1, rows, in, bias, y);
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
  const int64_t num_tiles = (rows + kTileRows - 1) / kTileRows;
  pool_.parallel_for(num_tiles, 1, [&](int64_t tb, int64_t te) {
    std::vector<float> converted;  // other dtypes: a tile converted once for all the tokens
    for (int64_t t = tb; t < te; ++t) {
      const int64_t r0 = t * kTileRows, r1 = std::min(rows, r0 + kTileRows);
      if (w.dtype() == DType::kF32) {
        run_tile(xs, n, w.as<float>() + r0 * in, r0, r1, rows, in, bs, ys);
      } else if (w.dtype() == DType::kBF16) {
        run_tile(xs, n, static_cast<const Bf16*>(w.data()) + r0 * in, r0, r1, rows, in, bs, ys);
      } else {
        converted.resize(static_cast<size_t>(kTileRows * in));
        for (int64_t r = r0; r < r1; ++r) load_row_f32(w, r, converted.data() + (r - r0) * in);
        run_tile(xs, n, converted.data(), r0, r1, rows, in, bs, ys);
      }
    }
  });
}

}  // namespace pdserve::backend::cpu
