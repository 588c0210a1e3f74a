// sample_rows: the scan (the row's top, log-sum-exp and top-N; greedy rows
// end there), the select rounds (sample_rows_select.cu), then the keep
// pass and the draw. sample_rows.h tells the method.
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/sample_rows_common.cuh"

namespace pdserve::backend::cuda {
namespace sampling {
namespace {

union ScanStorage {
  cub::BlockReduce<Best, kThreads>::TempStorage best;
  cub::BlockReduce<Lse, kThreads>::TempStorage lse;
};

union KeepStorage {
  cub::BlockReduce<Mass, kThreads>::TempStorage mass;
  cub::BlockReduce<uint32_t, kThreads>::TempStorage count;
  cub::BlockScan<Mass, kThreads>::TempStorage mass_scan;
  cub::BlockScan<uint32_t, kThreads>::TempStorage count_scan;
};

// Ranked after `prev` by raw logit (ties by id); everything when prev.i < 0.
__device__ __forceinline__ bool after(float v, int64_t j, const Best& prev) {
  return prev.i < 0 || v < prev.v || (v == prev.v && j > prev.i);
}

// Writes the row's top-N raw logits (most likely first, ties by id) from
// each chunk's top-N candidates.
__device__ void merge_top(const SampleRowsArgs& a, const RowInputs& r, const Workspace& w,
                          int64_t row, float log_z, ScanStorage& tmp) {
  __shared__ Best s_best;
  const int n = r.num_top, per_chunk = a.max_top;
  const Best* cand = w.candidates + row * w.num_chunks * per_chunk;
  Best prev{0.0f, -1};
  for (int k = 0; k < n; ++k) {
    Best b{-INFINITY, INT_MAX};
    for (int idx = threadIdx.x; idx < w.num_chunks * n; idx += kThreads) {
      const Best c{__ldcg(&cand[(idx / n) * per_chunk + idx % n].v),
                   __ldcg(&cand[(idx / n) * per_chunk + idx % n].i)};
      if (c.i != INT_MAX && after(c.v, c.i, prev)) b = BestOp()(b, c);
    }
    b = cub::BlockReduce<Best, kThreads>(tmp.best).Reduce(b, BestOp());
    if (threadIdx.x == 0) {
      s_best = b;
      a.top_ids[row * a.max_top + k] = b.i;
      a.top_logprobs[row * a.max_top + k] = b.v - log_z;
    }
    __syncthreads();
    prev = s_best;
    __syncthreads();
  }
}

__global__ void __launch_bounds__(kThreads, 3) scan_kernel(SampleRowsArgs a, Workspace w) {
  __shared__ ScanStorage tmp;
  __shared__ Best s_best;
  __shared__ Lse s_lse;
  const int64_t row = blockIdx.x;
  const int chunk = static_cast<int>(blockIdx.y);
  const RowInputs r = row_inputs(a, row);
  const int64_t end = chunk_end(chunk, a.vocab);
  // The select's first histogram starts empty.
  for (int b = chunk * kThreads + threadIdx.x; b < kBins; b += w.num_chunks * kThreads) {
    w.hist_count[row * kBins + b] = 0;
    w.hist_mass[row * kBins + b] = 0;
  }

  float raw[kItems];
  load_chunk(r, chunk, end, raw);
  Best best{-INFINITY, INT_MAX};
  Lse lse{-INFINITY, 0.0f};
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const int64_t j = strided_token(chunk, i);
    if (j >= end) continue;
    best = BestOp()(best, {processed(r, j, raw[i]), static_cast<int>(j)});
    if (r.num_top >= 0 && raw[i] != -INFINITY) lse = LseOp()(lse, {raw[i], 1.0f});
  }
  ChunkPartial* part = w.chunks + row * w.num_chunks;
  best = cub::BlockReduce<Best, kThreads>(tmp.best).Reduce(best, BestOp());
  if (threadIdx.x == 0) part[chunk].best = best;
  if (r.num_top >= 0) {
    __syncthreads();
    lse = cub::BlockReduce<Lse, kThreads>(tmp.lse).Reduce(lse, LseOp());
    if (threadIdx.x == 0) part[chunk].lse = lse;
  }
  // The chunk's top-N raw logits: N block-wide maxima, each after the last.
  Best prev{0.0f, -1};
  Best* cand = w.candidates + (row * w.num_chunks + chunk) * max(a.max_top, 0);
  for (int k = 0; k < r.num_top; ++k) {
    Best b{-INFINITY, INT_MAX};
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      const int64_t j = strided_token(chunk, i);
      if (j < end && after(raw[i], j, prev)) b = BestOp()(b, {raw[i], static_cast<int>(j)});
    }
    __syncthreads();
    b = cub::BlockReduce<Best, kThreads>(tmp.best).Reduce(b, BestOp());
    if (threadIdx.x == 0) {
      s_best = b;
      cand[k] = b;
    }
    __syncthreads();
    prev = s_best;
  }

  if (!last_of_row(&w.counters[row], w.num_chunks)) return;
  best = {-INFINITY, INT_MAX};
  lse = {-INFINITY, 0.0f};
  if (threadIdx.x < w.num_chunks) {
    const ChunkPartial* c = part + threadIdx.x;
    best = {__ldcg(&c->best.v), __ldcg(&c->best.i)};
    lse = {__ldcg(&c->lse.m), __ldcg(&c->lse.s)};
  }
  __syncthreads();
  best = cub::BlockReduce<Best, kThreads>(tmp.best).Reduce(best, BestOp());
  if (threadIdx.x == 0) s_best = best;
  __syncthreads();
  float log_z = 0.0f;
  if (r.num_top >= 0) {
    lse = cub::BlockReduce<Lse, kThreads>(tmp.lse).Reduce(lse, LseOp());
    if (threadIdx.x == 0) s_lse = lse;
    __syncthreads();
    log_z = s_lse.m + logf(s_lse.s);
    merge_top(a, r, w, row, log_z, tmp);
  }
  if (threadIdx.x != 0) return;
  const SamplingRow& p = r.p;
  RowState s{};
  s.top = s_best.v;
  s.top_id = s_best.i;
  s.log_z = log_z;
  if (r.greedy || s.top == -INFINITY || p.top_k == 1 || p.top_p <= 0.0f) {
    s.stage = kDone;  // the kept set is the top token alone
    finish_row(a, r, row, s.top_id, log_z);
  } else {
    const bool filtered = p.top_k > 0 || p.top_p < 1.0f || p.min_p > 0.0f;
    s.stage = filtered ? kSelect : kDraw;  // unfiltered: key_lo 0 keeps every token
  }
  w.state[row] = s;
}

// The kept mass of each chunk (tokens with key >= key_lo, and the number of
// key_tie tokens), then in the row's last block: the tie ranks of the
// chunks, the draw's chunk, and the token in it by a block-wide scan.
__global__ void __launch_bounds__(kThreads, 4) keep_kernel(SampleRowsArgs a, Workspace w) {
  __shared__ KeepStorage tmp;
  __shared__ int s_chunk;
  __shared__ Mass s_target;
  __shared__ uint32_t s_ties_before;
  __shared__ int32_t s_token;
  const int64_t row = blockIdx.x;
  const int chunk = static_cast<int>(blockIdx.y);
  const RowState s = w.state[row];
  if (s.stage != kDraw) return;
  const RowInputs r = row_inputs(a, row);
  const bool ties_on = s.ties_kept > 0;

  int64_t end = chunk_end(chunk, a.vocab);
  float raw[kItems];
  load_chunk(r, chunk, end, raw);
  Mass kept = 0;
  uint32_t ties = 0;
  for_each_processed(r, chunk, end, raw, [&](int64_t, float x, uint32_t key) {
    if (key >= s.key_lo)
      kept += mass_of(x, s.top);
    else if (ties_on && key == s.key_tie)
      ++ties;
  });
  ChunkPartial* part = w.chunks + row * w.num_chunks;
  kept = cub::BlockReduce<Mass, kThreads>(tmp.mass).Sum(kept);
  __syncthreads();
  ties = cub::BlockReduce<uint32_t, kThreads>(tmp.count).Sum(ties);
  if (threadIdx.x == 0) {
    part[chunk].kept = kept;
    part[chunk].ties = ties;
  }

  if (!last_of_row(&w.counters[row], w.num_chunks)) return;
  // The draw's chunk: kept masses (with the ties each chunk keeps) prefixed.
  kept = 0;
  ties = 0;
  if (threadIdx.x < w.num_chunks) {
    kept = __ldcg(&part[threadIdx.x].kept);
    ties = __ldcg(&part[threadIdx.x].ties);
  }
  uint32_t ties_before;
  __syncthreads();
  cub::BlockScan<uint32_t, kThreads>(tmp.count_scan).ExclusiveSum(ties, ties_before);
  const Mass tie_mass = ties_on ? mass_of(key_value(s.key_tie), s.top) : 0;
  const Mass kept_ties = s.ties_kept > ties_before ? min(ties, s.ties_kept - ties_before) : 0;
  const Mass chunk_mass = kept + kept_ties * tie_mass;
  Mass before, total;
  __syncthreads();
  cub::BlockScan<Mass, kThreads>(tmp.mass_scan).ExclusiveSum(chunk_mass, before, total);
  Mass target =
      static_cast<Mass>(uniform_draw(r.p.seed, r.p.draw_index) * static_cast<double>(total));
  if (target >= total) target = total - 1;
  if (threadIdx.x == 0) {  // replaced below; the top token is kept in any case
    s_chunk = -1;
    s_token = s.top_id;
  }
  __syncthreads();
  if (chunk_mass > 0 && before <= target && target < before + chunk_mass) {
    s_chunk = static_cast<int>(threadIdx.x);
    s_target = target - before;
    s_ties_before = ties_before;
  }
  __syncthreads();
  if (s_chunk >= 0) {
    // The token in the chunk: this thread's kItems consecutive tokens.
    const int64_t first = s_chunk * kChunk + int64_t{threadIdx.x} * kItems;
    end = chunk_end(s_chunk, a.vocab);
    float x[kItems];
    uint32_t my_ties = 0;
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      const int64_t j = first + i;
      x[i] = j < end ? processed(r, j, bf16_bits_to_float(r.logits[j])) : -INFINITY;
      if (j < end && ties_on && order_key(x[i]) == s.key_tie) ++my_ties;
    }
    uint32_t tie_rank;
    cub::BlockScan<uint32_t, kThreads>(tmp.count_scan).ExclusiveSum(my_ties, tie_rank);
    tie_rank += s_ties_before;
    Mass m[kItems], mine = 0;
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
      const uint32_t key = order_key(x[i]);
      m[i] = 0;
      if (first + i >= end) continue;
      if (key >= s.key_lo)
        m[i] = mass_of(x[i], s.top);
      else if (ties_on && key == s.key_tie && tie_rank++ < s.ties_kept)
        m[i] = tie_mass;
      mine += m[i];
    }
    __syncthreads();
    Mass prefix;
    cub::BlockScan<Mass, kThreads>(tmp.mass_scan).ExclusiveSum(mine, prefix);
    const Mass t = s_target;
    if (mine > 0 && prefix <= t && t < prefix + mine) {
      Mass acc = prefix;
#pragma unroll
      for (int i = 0; i < kItems; ++i) {
        acc += m[i];
        if (m[i] > 0 && t < acc) {
          s_token = static_cast<int32_t>(first + i);
          break;
        }
      }
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) finish_row(a, r, row, s_token, s.log_z);
}

// Offsets of the workspace's parts in one allocation (16-byte aligned).
Workspace carve(void* base, int64_t rows, int64_t vocab, int max_top, size_t* bytes) {
  size_t at = 0;
  auto take = [&](size_t n) {
    at = (at + 15) & ~size_t{15};
    void* p = base ? static_cast<char*>(base) + at : nullptr;
    at += n;
    return p;
  };
  const auto r = static_cast<size_t>(rows);
  Workspace w;
  w.num_chunks = static_cast<int>((vocab + kChunk - 1) / kChunk);
  const size_t chunks = r * static_cast<size_t>(w.num_chunks);
  w.counters = static_cast<uint32_t*>(take(r * sizeof(uint32_t)));
  w.state = static_cast<RowState*>(take(r * sizeof(RowState)));
  w.chunks = static_cast<ChunkPartial*>(take(chunks * sizeof(ChunkPartial)));
  w.candidates =
      static_cast<Best*>(take(chunks * static_cast<size_t>(max(max_top, 0)) * sizeof(Best)));
  w.hist_count = static_cast<uint32_t*>(take(r * kBins * sizeof(uint32_t)));
  w.hist_mass = static_cast<Mass*>(take(r * kBins * sizeof(Mass)));
  *bytes = at;
  return w;
}

}  // namespace
}  // namespace sampling

size_t sample_rows_workspace_bytes(int64_t rows, int64_t vocab, int max_top) {
  size_t bytes = 0;
  sampling::carve(nullptr, rows, vocab, max_top, &bytes);
  return bytes;
}

void launch_sample_rows(const SampleRowsArgs& a, void* stream) {
  using namespace sampling;
  if (a.rows == 0) return;
  cudaStream_t s = as_stream(stream);
  size_t bytes = 0;
  const Workspace w = carve(a.workspace, a.rows, a.vocab, a.max_top, &bytes);
  PD_CUDA_CHECK(cudaMemsetAsync(w.counters, 0, static_cast<size_t>(a.rows) * sizeof(uint32_t), s));
  const dim3 grid(static_cast<unsigned>(a.rows), static_cast<unsigned>(w.num_chunks));
  scan_kernel<<<grid, kThreads, 0, s>>>(a, w);
  PD_CUDA_CHECK(cudaGetLastError());
  for (int round = 0; round < 3; ++round) launch_select_round(round, a, w, s);
  keep_kernel<<<grid, kThreads, 0, s>>>(a, w);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
