#include <cfloat>
#include <climits>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/sample_rows.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kThreads = 512;
constexpr int kItems = 16;                    // per thread in a tile
constexpr int64_t kTile = kThreads * kItems;  // tokens per tile
constexpr int kMaxTiles = static_cast<int>(kMaxSampleVocab / kTile);
constexpr float kMassScale = 0x1p40f;  // fixed point of a token's mass (the top token's: 2^40)

using Mass = unsigned long long;

struct Best {
  float v;
  int i;
};
struct BestOp {
  __device__ Best operator()(const Best& a, const Best& b) const {
    return (b.v > a.v || (b.v == a.v && b.i < a.i)) ? b : a;
  }
};

// Log-sum-exp as (max, sum of exp(x - max)).
struct Lse {
  float m;
  float s;
};
struct LseOp {
  __device__ Lse operator()(const Lse& a, const Lse& b) const {
    if (a.m == -INFINITY) return b;
    if (b.m == -INFINITY) return a;
    const float m = fmaxf(a.m, b.m);
    return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
  }
};

union TempStorage {
  cub::BlockReduce<Best, kThreads>::TempStorage best;
  cub::BlockReduce<Lse, kThreads>::TempStorage lse;
  cub::BlockReduce<Mass, kThreads>::TempStorage mass;
  cub::BlockReduce<int, kThreads>::TempStorage count;
  cub::BlockScan<Mass, kThreads>::TempStorage scan;
};

__device__ __forceinline__ bool bit(const uint32_t* words, int64_t t) {
  return (words[t >> 5] >> (t & 31)) & 1u;
}

__device__ __forceinline__ Mass mass_of(float x, float top) {
  return __float2ull_rz(expf(x - top) * kMassScale);
}

// Ranked before the bound token (descending value, ties by id); every token
// when there is no bound (bound < 0).
__device__ __forceinline__ bool before(float x, int64_t j, float bound_x, int64_t bound) {
  return bound < 0 || x > bound_x || (x == bound_x && j < bound);
}

// The largest of `x` over the row (ties: the lowest id), among the tokens
// ranked after (prev_v, prev_i) when prev_i >= 0. Every thread gets it.
__device__ Best block_best_after(const uint16_t* in, int64_t vocab, float prev_v, int prev_i,
                                 TempStorage& tmp, Best& out) {
  Best b{-INFINITY, INT_MAX};
  for (int64_t j = threadIdx.x; j < vocab; j += kThreads) {
    const float v = bf16_bits_to_float(in[j]);
    if (prev_i >= 0 && !(v < prev_v || (v == prev_v && j > prev_i))) continue;
    b = BestOp()(b, {v, static_cast<int>(j)});
  }
  b = cub::BlockReduce<Best, kThreads>(tmp.best).Reduce(b, BestOp());
  if (threadIdx.x == 0) out = b;
  __syncthreads();
  return out;
}

__global__ void __launch_bounds__(kThreads) sample_rows_kernel(SampleRowsArgs a) {
  __shared__ TempStorage tmp;
  __shared__ Mass tile_mass[kMaxTiles];
  __shared__ Best s_best;
  __shared__ Lse s_lse;
  __shared__ Mass s_total, s_target;
  __shared__ int s_count, s_tile, s_token;

  const int64_t row = blockIdx.x, vocab = a.vocab, words = mask_words(vocab);
  const SamplingRow p = a.params[row];
  const uint16_t* in = a.logits + row * vocab;
  float* x = a.workspace + row * vocab;
  const bool greedy = p.temperature <= kGreedyTemperature;
  const bool want_logprobs = p.num_logprobs >= 0 && a.max_top >= 0;
  const uint32_t* allowed = p.allowed_row >= 0 && p.allowed_row < a.num_masks
                                ? a.allowed + p.allowed_row * words
                                : nullptr;
  const bool history = p.history_slot >= 0 && p.history_slot < a.num_slots;
  int32_t* counts = history ? a.output_counts + p.history_slot * vocab : nullptr;
  const uint32_t* seen = history ? a.prompt_seen + p.history_slot * words : nullptr;

  // Masks, penalties, temperature; the processed argmax and the raw log-sum-exp.
  Best best{-INFINITY, INT_MAX};
  Lse lse{-INFINITY, 0.0f};
  for (int64_t j = threadIdx.x; j < vocab; j += kThreads) {
    const float raw = bf16_bits_to_float(in[j]);
    if (want_logprobs && raw != -INFINITY) {
      if (raw > lse.m) {
        lse.s = lse.s * expf(lse.m - raw) + 1.0f;
        lse.m = raw;
      } else {
        lse.s += expf(raw - lse.m);
      }
    }
    float v = raw;
    if (allowed && !bit(allowed, j)) v = -INFINITY;
    if (counts) v = penalized(v, bit(seen, j) || counts[j] > 0, counts[j], p);
    if (!greedy) {
      v = __fdiv_rn(v, p.temperature);
      x[j] = v;
    }
    best = BestOp()(best, {v, static_cast<int>(j)});
  }
  best = cub::BlockReduce<Best, kThreads>(tmp.best).Reduce(best, BestOp());
  if (threadIdx.x == 0) s_best = best;
  __syncthreads();
  if (want_logprobs) {
    lse = cub::BlockReduce<Lse, kThreads>(tmp.lse).Reduce(lse, LseOp());
    if (threadIdx.x == 0) s_lse = lse;
    __syncthreads();
  }
  const float top = s_best.v;
  int64_t token = s_best.i;

  if (!greedy && top != -INFINITY) {
    const bool filtered = p.top_k > 0 || p.top_p < 1.0f || p.min_p > 0.0f;
    const int num_tiles = static_cast<int>((vocab + kTile - 1) / kTile);
    int64_t bound = -1;
    float bound_x = 0.0f;
    Mass total_all = 0;
    for (uint64_t round = 0;; ++round) {
      // The candidates' mass per tile and their number.
      int count = 0;
      for (int t = 0; t < num_tiles; ++t) {
        Mass m = 0;
        for (int i = 0; i < kItems; ++i) {
          const int64_t j = t * kTile + i * kThreads + threadIdx.x;
          if (j >= vocab) break;
          const float v = x[j];
          if (!before(v, j, bound_x, bound)) continue;
          m += mass_of(v, top);
          ++count;
        }
        m = cub::BlockReduce<Mass, kThreads>(tmp.mass).Sum(m);
        if (threadIdx.x == 0) tile_mass[t] = m;
        __syncthreads();
      }
      count = cub::BlockReduce<int, kThreads>(tmp.count).Sum(count);
      if (threadIdx.x == 0) {
        Mass total = 0;
        for (int t = 0; t < num_tiles; ++t) total += tile_mass[t];
        s_total = total;
        s_count = count;
      }
      __syncthreads();
      const Mass total = s_total;
      const int rank = s_count;
      if (round == 0) {
        total_all = total;
      } else {  // bound, drawn last round, has `rank` tokens of mass `total` ranked before it
        const bool keep =
            rank == 0 ||
            ((p.top_k <= 0 || rank < p.top_k) &&
             (p.top_p >= 1.0f || static_cast<double>(total) < static_cast<double>(p.top_p) *
                                                                  static_cast<double>(total_all)) &&
             (p.min_p <= 0.0f ||
              exp(static_cast<double>(bound_x) - static_cast<double>(top)) >= p.min_p));
        if (keep) {
          token = bound;
          break;
        }
      }
      // Draw among the candidates: find the tile, then the token in it.
      const uint64_t seed = round == 0 ? p.seed : splitmix64(p.seed + round);
      if (threadIdx.x == 0) {
        const double u = uniform_draw(seed, p.draw_index);
        Mass target = static_cast<Mass>(u * static_cast<double>(total));
        if (target >= total) target = total - 1;
        int t = 0;
        while (target >= tile_mass[t]) target -= tile_mass[t++];
        s_tile = t;
        s_target = target;
        s_token = s_best.i;  // replaced below (the top token is a candidate in any case)
      }
      __syncthreads();
      const int64_t first = s_tile * kTile + threadIdx.x * kItems;
      Mass mine = 0;
      for (int i = 0; i < kItems; ++i) {
        const int64_t j = first + i;
        if (j < vocab && before(x[j], j, bound_x, bound)) mine += mass_of(x[j], top);
      }
      Mass prefix;
      cub::BlockScan<Mass, kThreads>(tmp.scan).ExclusiveSum(mine, prefix);
      const Mass target = s_target;
      if (mine > 0 && prefix <= target && target < prefix + mine) {
        Mass acc = prefix;
        for (int i = 0; i < kItems; ++i) {
          const int64_t j = first + i;
          if (j >= vocab || !before(x[j], j, bound_x, bound)) continue;
          acc += mass_of(x[j], top);
          if (target < acc) {
            s_token = static_cast<int>(j);
            break;
          }
        }
      }
      __syncthreads();
      if (!filtered) {
        token = s_token;
        break;
      }
      bound = s_token;
      bound_x = x[bound];
      __syncthreads();  // tile_mass and s_token are written again next round
    }
  }

  if (threadIdx.x == 0) {
    a.token_ids[row] = static_cast<int32_t>(token);
    if (counts) ++counts[token];
  }
  if (!want_logprobs) return;
  const float log_z = s_lse.m + logf(s_lse.s);
  if (threadIdx.x == 0) a.logprobs[row] = bf16_bits_to_float(in[token]) - log_z;
  const int n = min(p.num_logprobs, a.max_top);
  Best prev{0.0f, -1};
  for (int k = 0; k < n; ++k) {
    prev = block_best_after(in, vocab, prev.v, prev.i, tmp, s_best);
    if (threadIdx.x == 0) {
      a.top_ids[row * a.max_top + k] = prev.i;
      a.top_logprobs[row * a.max_top + k] = prev.v - log_z;
    }
  }
}

}  // namespace

size_t sample_rows_workspace_bytes(int64_t rows, int64_t vocab) {
  return static_cast<size_t>(rows * vocab) * sizeof(float);
}

void launch_sample_rows(const SampleRowsArgs& a, void* stream) {
  if (a.rows == 0) return;
  sample_rows_kernel<<<static_cast<unsigned>(a.rows), kThreads, 0, as_stream(stream)>>>(a);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
