// The decode GEMV (gemv.h) on the tensor cores. A block owns 16 rows of w
// (the m of one m16n8k16 mma); its 8 warps split k into contiguous ranges and
// stream their rows with 16-byte loads, kUnroll steps in flight per lane; the
// warps' partial sums meet in shared memory, so no second kernel reduces them.
//
// A dot product may take k in any order, so a lane loads 8 consecutive values
// of a w row and of an x row with one 16-byte access each and feeds them as
// the A and B fragments of two mmas: lane (g = lane / 4, q = lane % 4) holds
// w rows g and g + 8 and token g's input at k = step * 32 + q * 8 ... + 7.
// The tokens are the mma's n: one n8 tile for m <= 8, two for m <= 16; a
// token past m is zeros in registers, never loaded. x needs no staging in
// shared memory: each warp reads its own k range of it, so a block reads x
// once. A token's sums do not depend on the other tokens' values (each mma
// output column is its own dot product, summed over the warps in a fixed
// order), which makes a row's result the same bits for any m.
#include "engine/backend/cuda/gemv.h"

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = 16;  // rows of w per block
constexpr int kStep = 32;  // k per warp step: 4 lanes x 8 values

// 16 bytes at p when pred, else zeros, without a branch (so the unrolled
// loads of a step stay in flight together).
__device__ __forceinline__ uint4 load16(const void* p, bool pred) {
  uint4 r;
  asm("{\n .reg .pred p;\n setp.ne.b32 p, %5, 0;\n"
      " mov.b32 %0, 0;\n mov.b32 %1, 0;\n mov.b32 %2, 0;\n mov.b32 %3, 0;\n"
      " @p ld.global.nc.v4.u32 {%0, %1, %2, %3}, [%4];\n}"
      : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
      : "l"(p), "r"(static_cast<int>(pred)));
  return r;
}

// c[4] (rows g, g+8 x tokens 2q, 2q+1) += A[16 x 16] * B[16 x 8], bf16 in, fp32 accumulation.
__device__ __forceinline__ void mma(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2,
                                    uint32_t a3, uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

// Eight input values of one token at k = kk ... kk + 7 as bf16 pairs (zeros
// when !pred); p points at x[token, kk]. kRmsNorm returns x * norm_weight
// (the 1 / rms scale is applied to the sums) and adds the squares of x to
// sumsq.
template <GemvInput kIn>
__device__ __forceinline__ uint4 load_input(const GemvArgs& a, const uint16_t* p, int64_t kk,
                                            bool pred, float& sumsq) {
  const uint4 raw = load16(p, pred);
  if constexpr (kIn == GemvInput::kPlain) {
    return raw;
  } else {
    float v[8];
    unpack_bf16x8(raw, v);
    if constexpr (kIn == GemvInput::kSiluMul) {
      float up[8];
      unpack_bf16x8(load16(p + a.k, pred), up);
#pragma unroll
      for (int i = 0; i < 8; ++i) v[i] = v[i] / (1.0f + __expf(-v[i])) * up[i];  // as silu_mul.cu
    } else {
      const uint4 w0 = load16(a.norm_weight + kk, pred);
      const uint4 w1 = load16(a.norm_weight + kk + 4, pred);
      const uint32_t nw[8] = {w0.x, w0.y, w0.z, w0.w, w1.x, w1.y, w1.z, w1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        sumsq += v[i] * v[i];
        v[i] *= __uint_as_float(nw[i]);
      }
    }
    return make_uint4(pack_bf16x2(v[0], v[1]), pack_bf16x2(v[2], v[3]), pack_bf16x2(v[4], v[5]),
                      pack_bf16x2(v[6], v[7]));
  }
}

// Registers budgeted for one resident block per SM, so that each lane holds
// its whole unroll of loads in flight (at most 184 registers, no spills).
// Without the 1, ptxas budgets for more resident blocks and issues the plain
// input's loads next to their mmas (50 registers at an unroll of 4, 8 or 16:
// `-Xptxas -v`), so few loads are in flight in grids of one or two blocks
// per SM (QKV, O, down).
template <int kTiles, GemvInput kIn, bool kAdd>
__global__ void __launch_bounds__(kThreads, 1) gemv_kernel(GemvArgs a) {
  // Loads in flight per lane: 2 w rows (+ the input) per step.
  constexpr int kUnroll = kTiles == 1 && kIn == GemvInput::kPlain ? 8 : 4;
  __shared__ __align__(16) float partial[kWarps][kTiles][32][4];
  __shared__ float sumsq[kWarps][kTiles * 8];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, q = lane % 4;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kRows + g;
  const bool has_lo = row < a.n, has_hi = row + 8 < a.n;
  const uint16_t* w_lo = a.w + (has_lo ? row : 0) * a.k;
  const uint16_t* w_hi = a.w + (has_hi ? row + 8 : 0) * a.k;
  const int64_t x_stride = kIn == GemvInput::kSiluMul ? 2 * a.k : a.k;
  const int64_t steps = (a.k + kStep - 1) / kStep, per_warp = (steps + kWarps - 1) / kWarps;
  const int64_t begin = warp * per_warp, end = min(steps, begin + per_warp);

  float acc[kTiles][4] = {};
  float ss[kTiles] = {};
  for (int64_t s = begin; s < end; s += kUnroll) {
    uint4 wl[kUnroll], wh[kUnroll], xv[kUnroll][kTiles];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t kk = (s + u) * kStep + q * 8;
      const bool in = s + u < end && kk < a.k;
      wl[u] = load16(w_lo + kk, in && has_lo);
      wh[u] = load16(w_hi + kk, in && has_hi);
#pragma unroll
      for (int t = 0; t < kTiles; ++t) {
        const int token = min(t * 8 + g, static_cast<int>(a.m) - 1);
        xv[u][t] =
            load_input<kIn>(a, a.x + token * x_stride + kk, kk, in && t * 8 + g < a.m, ss[t]);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int t = 0; t < kTiles; ++t) {
        mma(acc[t], wl[u].x, wh[u].x, wl[u].y, wh[u].y, xv[u][t].x, xv[u][t].y);
        mma(acc[t], wl[u].z, wh[u].z, wl[u].w, wh[u].w, xv[u][t].z, xv[u][t].w);
      }
  }

#pragma unroll
  for (int t = 0; t < kTiles; ++t) {
    *reinterpret_cast<float4*>(partial[warp][t][lane]) =
        make_float4(acc[t][0], acc[t][1], acc[t][2], acc[t][3]);
    if constexpr (kIn == GemvInput::kRmsNorm) {
      float v = ss[t];
      v += __shfl_xor_sync(0xffffffffu, v, 1);
      v += __shfl_xor_sync(0xffffffffu, v, 2);
      if (q == 0) sumsq[warp][t * 8 + g] = v;
    }
  }
  __syncthreads();

  // One thread per output (row r of the block, token): consecutive threads
  // write consecutive rows of a token's y.
  const int r = static_cast<int>(threadIdx.x) % kRows,
            token = static_cast<int>(threadIdx.x) / kRows;
  const int64_t out_row = static_cast<int64_t>(blockIdx.x) * kRows + r;
  if (token >= kTiles * 8 || token >= a.m || out_row >= a.n) return;
  const int t = token / 8, src = r % 8 * 4 + token % 8 / 2, reg = r / 8 * 2 + token % 2;
  float v = 0.0f;
#pragma unroll
  for (int i = 0; i < kWarps; ++i) v += partial[i][t][src][reg];
  if constexpr (kIn == GemvInput::kRmsNorm) {
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < kWarps; ++i) s += sumsq[i][token];
    v *= rsqrtf(s / static_cast<float>(a.k) + a.norm_eps);
  }
  if (a.bias) v += a.bias[out_row];
  uint16_t* y = a.y + token * a.n + out_row;
  if constexpr (kAdd) v += bf16_bits_to_float(*y);
  *y = float_to_bf16_bits(v);
}

template <int kTiles, GemvInput kIn>
void launch_tiles(const GemvArgs& a, bool add_to_y, cudaStream_t s) {
  const auto grid = static_cast<unsigned>((a.n + kRows - 1) / kRows);
  if (add_to_y)
    gemv_kernel<kTiles, kIn, true><<<grid, kThreads, 0, s>>>(a);
  else
    gemv_kernel<kTiles, kIn, false><<<grid, kThreads, 0, s>>>(a);
}

template <int kTiles>
void launch_input(const GemvArgs& a, GemvInput input, bool add_to_y, cudaStream_t s) {
  switch (input) {
    case GemvInput::kPlain: return launch_tiles<kTiles, GemvInput::kPlain>(a, add_to_y, s);
    case GemvInput::kRmsNorm: return launch_tiles<kTiles, GemvInput::kRmsNorm>(a, add_to_y, s);
    case GemvInput::kSiluMul: return launch_tiles<kTiles, GemvInput::kSiluMul>(a, add_to_y, s);
  }
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

bool gemv_supports(const GemvArgs& a) {
  return a.m >= 1 && a.m <= kGemvMaxTokens && a.n >= 1 && a.k >= 8 && a.k % 8 == 0 &&
         aligned16(a.x) && aligned16(a.w) && aligned16(a.norm_weight);
}

void launch_gemv(const GemvArgs& a, GemvInput input, bool add_to_y, void* stream) {
  PD_CHECK(gemv_supports(a)) << "gemv: m=" << a.m << " k=" << a.k << " n=" << a.n << " (m in 1.."
                             << kGemvMaxTokens << ", k a multiple of 8, 16-byte aligned x and w)";
  PD_CHECK(input != GemvInput::kRmsNorm || a.norm_weight) << "gemv: RMSNorm without its weight";
  if (a.m <= 8)
    launch_input<1>(a, input, add_to_y, as_stream(stream));
  else
    launch_input<2>(a, input, add_to_y, as_stream(stream));
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
