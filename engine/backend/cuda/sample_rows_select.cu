// sample_rows' select rounds: the kept set of a filtered row (min_p, top_k,
// top_p) by a radix select over the 32-bit keys of its processed values,
// most significant digit first (11, 11, then 10 bits). Each round's blocks
// histogram their chunk's tokens whose key has the digits fixed so far
// (tokens and fixed-point mass per bin: integer sums, exact in any order);
// the row's last block walks the bins in descending order from the mass and
// count ranked before them and finds the bin holding the cut: the first
// token in the order at which the kept count reaches `limit` (top_k, the
// tokens passing min_p) or the kept mass reaches top_p of the row's. A bin
// whose last token is the cut (one token, or the count reached exactly at
// its end) ends the select early; after the last digit the cut's value is
// exact and the tokens tied at it are kept by id up to the cut.
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/sample_rows_common.cuh"

namespace pdserve::backend::cuda::sampling {
namespace {

union SelectStorage {
  cub::BlockReduce<Mass, kThreads>::TempStorage mass;
  cub::BlockReduce<uint32_t, kThreads>::TempStorage count;
  cub::BlockScan<Mass, kThreads>::TempStorage mass_scan;
  cub::BlockScan<uint32_t, kThreads>::TempStorage count_scan;
};

// Adds m to the shared 64-bit sum (lo, hi) with 32-bit atomics (native on
// shared memory, where 64-bit ones may loop): a carry out of lo goes to hi.
__device__ __forceinline__ void add_mass(uint32_t* lo, uint32_t* hi, Mass m) {
  const auto mlo = static_cast<uint32_t>(m), mhi = static_cast<uint32_t>(m >> 32);
  const uint32_t old = atomicAdd(lo, mlo);
  const uint32_t add = mhi + (old > 0xffffffffu - mlo ? 1u : 0u);
  if (add) atomicAdd(hi, add);
}

// The kept set's bound when the cut token is the last of a bin, or exactly
// at a key after the last digit (tied tokens kept by id up to the cut).
struct Cut {
  uint32_t bin, count_before, bin_count;
  Mass mass_before, bin_mass;
};

template <int kRound>
__global__ void __launch_bounds__(kThreads, 4) select_kernel(SampleRowsArgs a, Workspace w) {
  constexpr int kShift = kRound == 0 ? 21 : kRound == 1 ? 10 : 0;  // of this round's digit
  constexpr int kDigitBits = kRound == 2 ? 10 : 11;
  constexpr int kDigitBins = 1 << kDigitBits;
  constexpr int kPerThread = kDigitBins / kThreads;
  __shared__ uint32_t count[kDigitBins], lo[kDigitBins], hi[kDigitBins];
  __shared__ SelectStorage tmp;
  __shared__ Cut s_cut;
  __shared__ bool s_found;
  __shared__ Mass s_total;
  const int64_t row = blockIdx.x;
  const int chunk = static_cast<int>(blockIdx.y);
  RowState s = w.state[row];
  if (s.stage != kSelect) return;
  const RowInputs r = row_inputs(a, row);
  for (int b = threadIdx.x; b < kDigitBins; b += kThreads) count[b] = lo[b] = hi[b] = 0;
  __syncthreads();

  const int64_t end = chunk_end(chunk, a.vocab);
  float raw[kItems];
  load_chunk(r, chunk, end, raw);
  const bool count_minp = kRound == 0 && r.p.min_p > 0.0f;
  uint32_t minp = 0;
  for_each_processed(r, chunk, end, raw, [&](int64_t, float x, uint32_t key) {
    if constexpr (kRound > 0) {
      if ((key >> (kShift + kDigitBits)) != s.prefix) return;  // not in the last round's bin
    }
    const uint32_t bin = (key >> kShift) & (kDigitBins - 1);
    atomicAdd(&count[bin], 1u);
    const Mass m = mass_of(x, s.top);
    if (m) add_mass(&lo[bin], &hi[bin], m);
    if (count_minp && exp(static_cast<double>(x) - static_cast<double>(s.top)) >= r.p.min_p) ++minp;
  });
  __syncthreads();
  for (int b = threadIdx.x; b < kDigitBins; b += kThreads) {
    if (count[b] == 0) continue;
    atomicAdd(&w.hist_count[row * kBins + b], count[b]);
    atomicAdd(&w.hist_mass[row * kBins + b], (Mass{hi[b]} << 32) | lo[b]);
  }
  if (count_minp) {
    minp = cub::BlockReduce<uint32_t, kThreads>(tmp.count).Sum(minp);
    if (threadIdx.x == 0) atomicAdd(&w.state[row].minp_count, minp);
  }

  if (!last_of_row(&w.counters[row], w.num_chunks)) return;
  // This thread's kPerThread bins, in descending order.
  uint32_t c[kPerThread], my_count = 0;
  Mass m[kPerThread], my_mass = 0;
#pragma unroll
  for (int k = 0; k < kPerThread; ++k) {
    const int b = kDigitBins - 1 - (static_cast<int>(threadIdx.x) * kPerThread + k);
    c[k] = __ldcg(&w.hist_count[row * kBins + b]);
    m[k] = __ldcg(&w.hist_mass[row * kBins + b]);
    my_count += c[k];
    my_mass += m[k];
  }
  if (kRound == 0) {  // the row's mass and the kept count's bound
    const Mass total = cub::BlockReduce<Mass, kThreads>(tmp.mass).Sum(my_mass);
    if (threadIdx.x == 0) s_total = total;
    __syncthreads();
    s.total = s_total;
    const auto vocab = static_cast<uint32_t>(a.vocab);
    uint32_t limit = r.p.top_k > 0 ? min(vocab, static_cast<uint32_t>(r.p.top_k)) : vocab;
    if (r.p.min_p > 0.0f) limit = min(limit, __ldcg(&w.state[row].minp_count));
    s.limit = max(limit, 1u);
  }
  const double mass_bound =
      r.p.top_p < 1.0f ? static_cast<double>(r.p.top_p) * static_cast<double>(s.total) : INFINITY;
  auto reached = [&](uint32_t n, Mass mass) {
    return n >= s.limit || static_cast<double>(mass) >= mass_bound;
  };
  uint32_t n;
  Mass mass;
  __syncthreads();
  cub::BlockScan<uint32_t, kThreads>(tmp.count_scan).ExclusiveSum(my_count, n);
  __syncthreads();
  cub::BlockScan<Mass, kThreads>(tmp.mass_scan).ExclusiveSum(my_mass, mass);
  n += s.count_before;
  mass += s.mass_before;
  if (threadIdx.x == 0) s_found = false;
  __syncthreads();
  if (!reached(n, mass)) {  // the cut is not before this thread's bins
#pragma unroll
    for (int k = 0; k < kPerThread; ++k) {
      if (reached(n + c[k], mass + m[k])) {
        s_cut = {static_cast<uint32_t>(kDigitBins - 1 -
                                       (static_cast<int>(threadIdx.x) * kPerThread + k)),
                 n, c[k], mass, m[k]};
        s_found = true;
        break;
      }
      n += c[k];
      mass += m[k];
    }
  }
  __syncthreads();
  for (int b = threadIdx.x; b < kBins; b += kThreads) {  // empty for the next round
    w.hist_count[row * kBins + b] = 0;
    w.hist_mass[row * kBins + b] = 0;
  }
  if (threadIdx.x != 0) return;
  const Cut cut = s_cut;
  if (!s_found) {  // cannot happen (the counts are exact); keep every token rather than hang
    s.stage = kDraw;
    s.key_lo = 0;
    s.ties_kept = 0;
  } else if (cut.bin_count == 1 ||
             (cut.count_before + cut.bin_count == s.limit &&
              static_cast<double>(cut.mass_before + cut.bin_mass) < mass_bound)) {
    s.stage = kDraw;  // the cut is the bin's last token: keep the whole bin
    s.key_lo = static_cast<uint64_t>((s.prefix << kDigitBits) | cut.bin) << kShift;
    s.ties_kept = 0;
  } else if (kRound == 2) {  // every token of the bin has the same key
    const uint32_t key = (s.prefix << kDigitBits) | cut.bin;
    const Mass tie = cut.bin_mass / cut.bin_count;
    // The cut: the first tie t at which the count or the mass is reached.
    uint32_t t = min(s.limit - cut.count_before - 1, cut.bin_count - 1);
    if (static_cast<double>(cut.mass_before + Mass{t + 1} * tie) >= mass_bound) {
      uint32_t low = 0;
      while (low < t) {
        const uint32_t mid = (low + t) / 2;
        if (static_cast<double>(cut.mass_before + Mass{mid + 1} * tie) >= mass_bound)
          t = mid;
        else
          low = mid + 1;
      }
    }
    s.stage = kDraw;
    s.key_lo = uint64_t{key} + 1;
    s.key_tie = key;
    s.ties_kept = t + 1;
  } else {
    s.prefix = (s.prefix << kDigitBits) | cut.bin;
  }
  s.count_before = cut.count_before;
  s.mass_before = cut.mass_before;
  w.state[row] = s;
}

}  // namespace

void launch_select_round(int round, const SampleRowsArgs& a, const Workspace& w,
                         cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.rows), static_cast<unsigned>(w.num_chunks));
  switch (round) {
    case 0: select_kernel<0><<<grid, kThreads, 0, stream>>>(a, w); break;
    case 1: select_kernel<1><<<grid, kThreads, 0, stream>>>(a, w); break;
    default: select_kernel<2><<<grid, kThreads, 0, stream>>>(a, w);
  }
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda::sampling
