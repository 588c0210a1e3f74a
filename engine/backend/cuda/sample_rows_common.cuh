// What the kernels of sample_rows (sample_rows.cu, sample_rows_select.cu)
// share: a row spread over chunks of kChunk tokens (grid rows x chunks), the
// per-row state that each kernel's last block of a row leaves for the next
// kernel, the workspace's layout, and the per-token arithmetic: the
// processed logit (mask, penalties, temperature), its order-preserving key
// and its fixed-point mass.
//
// Order of the tokens of a row: descending processed value, ties by id (the
// CPU's stable sort). The key of a value is an unsigned integer in the same
// order (-0 counted as +0), so "ranked before" is "larger key, or the same
// key and a lower id".
#pragma once

#include <cfloat>
#include <climits>
#include <cstdint>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/sample_rows.h"

namespace pdserve::backend::cuda::sampling {

inline constexpr int kThreads = 256;
inline constexpr int kItems = 16;                              // tokens per thread in a chunk
inline constexpr int64_t kChunk = int64_t{kThreads} * kItems;  // tokens per block
inline constexpr int kMaxChunks = kMaxSampleVocab / kChunk;    // one chunk per thread in merges
inline constexpr int kBins = 2048;                             // the widest radix digit: 11 bits
inline constexpr float kMassScale =
    0x1p40f;  // fixed point of a token's mass (the top token's: 2^40)
static_assert(kMaxChunks <= kThreads);

using Mass = unsigned long long;

struct Best {
  float v;
  int i;
};
struct BestOp {  // the larger value, ties: the lower id
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

// Where a row is between kernels:
//   scan ──▶ kDone (greedy, top_k 1, every token masked: the token is written)
//        ──▶ kDraw (no min_p/top_k/top_p: every token kept)
//        ──▶ kSelect ──round 0..2──▶ kDraw (the kept set found) ──keep──▶ token written
enum Stage : int32_t { kDone = 0, kSelect = 1, kDraw = 2 };

struct RowState {
  float top;  // the largest processed value (-inf: every token masked)
  int32_t top_id;
  float log_z;  // log-sum-exp of the raw row (rows with logprobs)
  int32_t stage;
  // Selection of the kept set (a prefix of the order) by radix digits of the key.
  uint32_t prefix;        // the key's digits fixed by the rounds so far
  uint32_t limit;         // the kept set has at most this many tokens (top_k, min_p)
  uint32_t minp_count;    // tokens that pass min_p (counted by round 0)
  uint32_t count_before;  // tokens ranked before the current digit's bin
  Mass mass_before;       // their mass
  Mass total;             // the row's mass
  // The kept set: key >= key_lo, and the first ties_kept tokens (by id) of key key_tie.
  uint64_t key_lo;
  uint32_t key_tie;
  uint32_t ties_kept;
};

struct ChunkPartial {
  Best best;  // scan: the chunk's largest processed value
  Lse lse;    // scan: the raw log-sum-exp
  Mass kept;  // keep: mass of the chunk's tokens with key >= key_lo
  uint32_t ties;
  uint32_t unused;
};

// Device pointers into one workspace allocation (sample_rows_workspace_bytes).
struct Workspace {
  uint32_t* counters;    // [rows] zero between kernels (each last block resets its row's)
  RowState* state;       // [rows]
  ChunkPartial* chunks;  // [rows, num_chunks]
  Best* candidates;      // [rows, num_chunks, max_top] a chunk's most likely raw logits
  uint32_t* hist_count;  // [rows, kBins] a round's histogram: tokens per bin ...
  Mass* hist_mass;       // [rows, kBins] ... and their mass (zero between rounds)
  int num_chunks;
};

// The row's inputs as the kernels read them.
struct RowInputs {
  SamplingRow p;
  const uint16_t* logits;   // [vocab]
  const uint32_t* allowed;  // null: every token allowed
  int32_t* counts;          // [vocab] null: no history
  uint32_t* seen;           // [mask_words(vocab)]
  bool greedy;
  int num_top;  // -1: no logprobs; else the top entries to write
};

__device__ __forceinline__ RowInputs row_inputs(const SampleRowsArgs& a, int64_t row) {
  RowInputs r;
  r.p = a.params[row];
  const int64_t words = mask_words(a.vocab);
  r.logits = a.logits + row * a.vocab;
  r.allowed = r.p.allowed_row >= 0 && r.p.allowed_row < a.num_masks
                  ? a.allowed + r.p.allowed_row * words
                  : nullptr;
  const bool history = r.p.history_slot >= 0 && r.p.history_slot < a.num_slots;
  r.counts = history ? a.output_counts + r.p.history_slot * a.vocab : nullptr;
  r.seen = history ? a.seen + r.p.history_slot * words : nullptr;
  r.greedy = r.p.temperature <= kGreedyTemperature;
  r.num_top =
      r.p.num_logprobs >= 0 && a.max_top >= 0
          ? static_cast<int>(min(static_cast<int64_t>(min(r.p.num_logprobs, a.max_top)), a.vocab))
          : -1;
  return r;
}

__device__ __forceinline__ bool bit(const uint32_t* words, int64_t t) {
  return (words[t >> 5] >> (t & 31)) & 1u;
}

// Mask, penalties (a token's count is read only when its seen bit is set:
// a count > 0 implies the bit), temperature (not for greedy rows).
__device__ __forceinline__ float processed(const RowInputs& r, int64_t j, float raw) {
  float v = raw;
  if (r.allowed && !bit(r.allowed, j)) v = -INFINITY;
  if (r.counts && bit(r.seen, j)) v = penalized(v, true, r.counts[j], r.p);
  if (!r.greedy) v = __fdiv_rn(v, r.p.temperature);
  return v;
}

__device__ __forceinline__ uint32_t order_key(float x) {
  const uint32_t b = x == 0.0f ? 0u : __float_as_uint(x);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// The value of a key (order_key's inverse; 0 gives +0).
__device__ __forceinline__ float key_value(uint32_t key) {
  return __uint_as_float((key & 0x80000000u) ? (key & 0x7fffffffu) : ~key);
}

__device__ __forceinline__ Mass mass_of(float x, float top) {
  return __float2ull_rz(expf(x - top) * kMassScale);
}

// Token i of this thread in `chunk`, strided so that a warp reads
// consecutive tokens; >= end: none.
__device__ __forceinline__ int64_t strided_token(int chunk, int i) {
  return chunk * kChunk + int64_t{i} * kThreads + threadIdx.x;
}

__device__ __forceinline__ int64_t chunk_end(int chunk, int64_t vocab) {
  return min((chunk + 1) * kChunk, vocab);
}

// This thread's raw logits of `chunk` (strided_token order; -inf past end).
__device__ __forceinline__ void load_chunk(const RowInputs& r, int chunk, int64_t end,
                                           float (&raw)[kItems]) {
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const int64_t j = strided_token(chunk, i);
    raw[i] = j < end ? bf16_bits_to_float(r.logits[j]) : -INFINITY;
  }
}

// f(token, processed value, key) for this thread's tokens of `chunk`.
template <class F>
__device__ __forceinline__ void for_each_processed(const RowInputs& r, int chunk, int64_t end,
                                                   const float (&raw)[kItems], F&& f) {
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const int64_t j = strided_token(chunk, i);
    if (j >= end) continue;
    const float x = processed(r, j, raw[i]);
    f(j, x, order_key(x));
  }
}

// Whether this block is the last of its row's blocks to get here (every
// block of the row calls it once, after writing its partials); the last
// one sees every other block's writes and resets the row's counter.
__device__ __forceinline__ bool last_of_row(uint32_t* counter, int num_chunks) {
  __shared__ bool last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(counter, 1u) == static_cast<uint32_t>(num_chunks - 1);
  __syncthreads();
  if (!last) return false;
  __threadfence();
  if (threadIdx.x == 0) *counter = 0;
  return true;
}

// The row's result (one thread): the token, the history's count and seen
// bit, the token's logprob.
__device__ __forceinline__ void finish_row(const SampleRowsArgs& a, const RowInputs& r, int64_t row,
                                           int32_t token, float log_z) {
  a.token_ids[row] = token;
  if (r.counts) {
    ++r.counts[token];
    r.seen[token >> 5] |= 1u << (token & 31);
  }
  if (r.num_top >= 0) a.logprobs[row] = bf16_bits_to_float(r.logits[token]) - log_z;
}

// Round r of the selection (sample_rows_select.cu): one launch per round.
void launch_select_round(int round, const SampleRowsArgs& a, const Workspace& w,
                         cudaStream_t stream);

}  // namespace pdserve::backend::cuda::sampling
