// First, plainly correct paged attention: one thread block per (query
// token, head), four warps splitting the context, online softmax in fp32,
// the warps' partial results merged at the end. Works for prefill chunks and
// decode alike. Not yet the tiled FlashAttention-2 prefill nor the split-K
// flash-decoding kernel (see docs/PERFORMANCE.md).
#include "engine/backend/cuda/paged_attention.h"

#include <cfloat>

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxPerLane = 8;  // head_dim <= 256

__global__ void paged_attention_kernel(AttentionArgs a) {
  __shared__ float s_m[kWarps], s_l[kWarps];
  __shared__ float s_acc[kWarps][kMaxPerLane * 32];
  const int t = blockIdx.x, h = blockIdx.y;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int hd = a.head_dim;
  // The sequence of token t: last s with query_start[s] <= t.
  int lo = 0, hi = a.num_seqs - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (a.query_start[mid] <= t)
      lo = mid;
    else
      hi = mid - 1;
  }
  const int s = lo;
  const int q_len = a.query_start[s + 1] - a.query_start[s];
  const int pos = a.context_lens[s] - q_len + (t - a.query_start[s]);
  const int first = a.sliding_window > 0 ? max(0, pos - a.sliding_window + 1) : 0;
  const int kvh = h / (a.num_heads / a.num_kv_heads);
  const int kv_dim = a.num_kv_heads * hd;
  const int32_t* table = a.block_tables + static_cast<int64_t>(s) * a.max_blocks;

  float q[kMaxPerLane], acc[kMaxPerLane];
  const uint16_t* qp = a.q + (static_cast<int64_t>(t) * a.num_heads + h) * hd;
#pragma unroll
  for (int i = 0; i < kMaxPerLane; ++i) {
    q[i] = lane + 32 * i < hd ? bf16_bits_to_float(qp[lane + 32 * i]) * a.scale : 0.0f;
    acc[i] = 0.0f;
  }
  float m = -FLT_MAX, l = 0.0f;
  for (int j = first + warp; j <= pos; j += kWarps) {
    const int64_t block = table[j / a.block_size], off = j % a.block_size;
    const uint16_t* k =
        a.kv + ((block * 2) * a.block_size + off) * kv_dim + static_cast<int64_t>(kvh) * hd;
    const uint16_t* v = k + static_cast<int64_t>(a.block_size) * kv_dim;
    float dot = 0.0f;
#pragma unroll
    for (int i = 0; i < kMaxPerLane; ++i)
      if (lane + 32 * i < hd) dot += q[i] * bf16_bits_to_float(k[lane + 32 * i]);
    const float score = warp_sum(dot);
    const float m_new = fmaxf(m, score);
    const float corr = __expf(m - m_new), p = __expf(score - m_new);
    l = l * corr + p;
#pragma unroll
    for (int i = 0; i < kMaxPerLane; ++i)
      if (lane + 32 * i < hd) acc[i] = acc[i] * corr + p * bf16_bits_to_float(v[lane + 32 * i]);
    m = m_new;
  }
  if (lane == 0) {
    s_m[warp] = m;
    s_l[warp] = l;
  }
#pragma unroll
  for (int i = 0; i < kMaxPerLane; ++i)
    if (lane + 32 * i < hd) s_acc[warp][lane + 32 * i] = acc[i];
  __syncthreads();
  if (warp != 0) return;
  float big = -FLT_MAX;
  for (int w = 0; w < kWarps; ++w) big = fmaxf(big, s_m[w]);
  float total = 0.0f, weight[kWarps];
  for (int w = 0; w < kWarps; ++w) {
    weight[w] = s_l[w] > 0.0f ? __expf(s_m[w] - big) : 0.0f;
    total += s_l[w] * weight[w];
  }
  uint16_t* op = a.out + (static_cast<int64_t>(t) * a.num_heads + h) * hd;
  for (int d = lane; d < hd; d += 32) {
    float o = 0.0f;
    for (int w = 0; w < kWarps; ++w) o += s_acc[w][d] * weight[w];
    op[d] = float_to_bf16_bits(o / total);
  }
}

}  // namespace

void launch_paged_attention(const AttentionArgs& args, void* stream) {
  PD_CHECK(args.head_dim <= kMaxPerLane * 32)
      << "paged_attention: head_dim " << args.head_dim << " > 256";
  if (args.num_tokens == 0) return;
  dim3 grid(static_cast<unsigned>(args.num_tokens), static_cast<unsigned>(args.num_heads));
  paged_attention_kernel<<<grid, kWarps * 32, 0, as_stream(stream)>>>(args);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
