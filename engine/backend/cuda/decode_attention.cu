// Split-K decode attention (see decode_attention.h). The split pass: one
// thread block per (context split, KV head, chunk of the GQA group's query
// heads, sequence). Each K/V row is read once, as 16-byte loads spread over
// head_dim / 8 lanes, and serves every query head of the chunk; online
// softmax in fp32 in the exp2 domain; lane groups, then warps, merge their
// partial results. With one split the block writes the output; otherwise it
// writes its unnormalised partial result and the reduction pass merges the
// splits of each (sequence, head).
#include <algorithm>
#include <cmath>

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/decode_attention.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kUnroll = 4;         // keys in flight per lane group
constexpr int kSplitAlign = 16;    // a split covers a multiple of this many keys
constexpr int kMinSplitKeys = 32;  // no split is planned for fewer keys
constexpr int kMaxSplits = 64;
constexpr int kBlocksPerSm = 4;  // the split count aims at this many blocks per SM
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kNoScore = -1e30f;  // the running max before any key

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Running softmax state of G query heads over the 8 dimensions a lane owns.
template <int G>
struct State {
  float m[G], l[G], acc[G][8];

  __device__ void init() {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      m[g] = kNoScore;
      l[g] = 0.0f;
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[g][i] = 0.0f;
    }
  }
  // Folds in another state (of the same heads and dimensions).
  __device__ void merge(int g, float m_o, float l_o, const float (&acc_o)[8]) {
    const float mx = fmaxf(m[g], m_o), c = fast_exp2(m[g] - mx), c_o = fast_exp2(m_o - mx);
    m[g] = mx;
    l[g] = l[g] * c + l_o * c_o;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[g][i] = acc[g][i] * c + acc_o[i] * c_o;
  }
};

// part_acc [num_seqs, num_heads, num_splits, HD], part_ml [num_seqs, num_heads, num_splits, 2]
template <int HD, int G>
__global__ void __launch_bounds__(kThreads)
    decode_split_kernel(AttentionArgs a, int num_splits, int head_chunks, float* part_acc,
                        float* part_ml) {
  constexpr int kLanesPerKey = HD / 8;
  constexpr int kKeysPerWarp = 32 / kLanesPerKey;
  constexpr int kSlots = kWarps * kKeysPerWarp;
  __shared__ float s_ml[kWarps][G][2];
  __shared__ float s_acc[kWarps][G][HD];

  const int split = blockIdx.x, kvh = blockIdx.y / head_chunks, chunk = blockIdx.y % head_chunks;
  const int s = blockIdx.z;
  const int group = a.num_heads / a.num_kv_heads;
  const int head0 = kvh * group + chunk * G, num_active = min(G, group - chunk * G);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int sub = lane % kLanesPerKey, slot = warp * kKeysPerWarp + lane / kLanesPerKey;

  const int ctx = a.context_lens[s];
  const int first = a.sliding_window > 0 ? max(0, ctx - a.sliding_window) : 0;
  int per = (ctx - first + num_splits - 1) / num_splits;
  per = (per + kSplitAlign - 1) / kSplitAlign * kSplitAlign;
  const int begin = first + split * per, end = min(ctx, begin + per);

  float q[G][8];
  const float q_scale = a.scale * kLog2e;
#pragma unroll
  for (int g = 0; g < G; ++g) {
    if (g < num_active) {
      const uint16_t* qp = a.q + (static_cast<int64_t>(s) * a.num_heads + head0 + g) * HD + sub * 8;
      unpack_bf16x8(*reinterpret_cast<const uint4*>(qp), q[g]);
#pragma unroll
      for (int i = 0; i < 8; ++i) q[g][i] *= q_scale;
    } else {
#pragma unroll
      for (int i = 0; i < 8; ++i) q[g][i] = 0.0f;
    }
  }
  State<G> st;
  st.init();

  const int64_t kv_dim = static_cast<int64_t>(a.num_kv_heads) * HD;
  const int64_t v_offset = a.block_size * kv_dim;
  const int32_t* table = a.block_tables + static_cast<int64_t>(s) * a.max_blocks;
  const uint16_t* kv_head = a.kv + static_cast<int64_t>(kvh) * HD + sub * 8;
  for (int base = begin; base < end; base += kSlots * kUnroll) {  // uniform over the block
    uint4 kr[kUnroll], vr[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int j = base + u * kSlots + slot;
      if (j < end) {
        const int64_t block = table[j / a.block_size];
        const uint16_t* k = kv_head + (block * 2 * a.block_size + j % a.block_size) * kv_dim;
        kr[u] = __ldg(reinterpret_cast<const uint4*>(k));
        vr[u] = __ldg(reinterpret_cast<const uint4*>(k + v_offset));
      } else {
        kr[u] = vr[u] = make_uint4(0, 0, 0, 0);
      }
    }
    // The scores of kUnroll keys, then one rescale of the state for all of them.
    float score[kUnroll][G];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float k[8];
      unpack_bf16x8(kr[u], k);
      const bool valid = base + u * kSlots + slot < end;
#pragma unroll
      for (int g = 0; g < G; ++g) {
        float dot = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i) dot += q[g][i] * k[i];
#pragma unroll
        for (int o = kLanesPerKey / 2; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        score[u][g] = valid ? dot : -INFINITY;
      }
    }
#pragma unroll
    for (int g = 0; g < G; ++g) {
      float mx = st.m[g];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) mx = fmaxf(mx, score[u][g]);
      const float c = fast_exp2(st.m[g] - mx);
      st.m[g] = mx;
      st.l[g] *= c;
#pragma unroll
      for (int i = 0; i < 8; ++i) st.acc[g][i] *= c;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float v[8];
      unpack_bf16x8(vr[u], v);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        const float p = fast_exp2(score[u][g] - st.m[g]);  // 0 for a key past the end
        st.l[g] += p;
#pragma unroll
        for (int i = 0; i < 8; ++i) st.acc[g][i] += p * v[i];
      }
    }
  }

  // Lane groups of a warp hold different keys of the same dimensions.
#pragma unroll
  for (int o = kLanesPerKey; o < 32; o <<= 1) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      float acc_o[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) acc_o[i] = __shfl_xor_sync(0xffffffffu, st.acc[g][i], o);
      const float m_o = __shfl_xor_sync(0xffffffffu, st.m[g], o);
      const float l_o = __shfl_xor_sync(0xffffffffu, st.l[g], o);
      st.merge(g, m_o, l_o, acc_o);
    }
  }
  if (lane < kLanesPerKey) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
#pragma unroll
      for (int i = 0; i < 8; ++i) s_acc[warp][g][sub * 8 + i] = st.acc[g][i];
      if (lane == 0) {
        s_ml[warp][g][0] = st.m[g];
        s_ml[warp][g][1] = st.l[g];
      }
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < num_active * HD; idx += kThreads) {
    const int g = idx / HD, d = idx % HD;
    float mx = kNoScore;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, s_ml[w][g][0]);
    float l = 0.0f, acc = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float c = fast_exp2(s_ml[w][g][0] - mx);
      l += s_ml[w][g][1] * c;
      acc += s_acc[w][g][d] * c;
    }
    const int64_t row = static_cast<int64_t>(s) * a.num_heads + head0 + g;
    if (num_splits == 1) {
      a.out[row * HD + d] = float_to_bf16_bits(l > 0.0f ? acc / l : 0.0f);
    } else {
      const int64_t part = row * num_splits + split;
      part_acc[part * HD + d] = acc;
      if (d == 0) {
        part_ml[part * 2] = mx;
        part_ml[part * 2 + 1] = l;
      }
    }
  }
}

// One block of head_dim threads per (head, sequence): merges the splits.
__global__ void decode_reduce_kernel(AttentionArgs a, int num_splits, const float* part_acc,
                                     const float* part_ml) {
  const int h = blockIdx.x, s = blockIdx.y, d = threadIdx.x;
  const int64_t row = static_cast<int64_t>(s) * a.num_heads + h;
  const float* ml = part_ml + row * num_splits * 2;
  float mx = kNoScore;
  for (int i = 0; i < num_splits; ++i) mx = fmaxf(mx, ml[2 * i]);
  float l = 0.0f, acc = 0.0f;
  for (int i = 0; i < num_splits; ++i) {
    const float c = fast_exp2(ml[2 * i] - mx);
    l += ml[2 * i + 1] * c;
    acc += part_acc[(row * num_splits + i) * a.head_dim + d] * c;
  }
  a.out[row * a.head_dim + d] = float_to_bf16_bits(l > 0.0f ? acc / l : 0.0f);
}

template <int HD, int G>
void launch_split(const AttentionArgs& a, const DecodeAttentionPlan& p, float* part_acc,
                  float* part_ml, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(p.num_splits),
                  static_cast<unsigned>(a.num_kv_heads * p.head_chunks),
                  static_cast<unsigned>(a.num_seqs));
  decode_split_kernel<HD, G>
      <<<grid, kThreads, 0, stream>>>(a, p.num_splits, p.head_chunks, part_acc, part_ml);
}

template <int HD>
void launch_for_group(const AttentionArgs& a, const DecodeAttentionPlan& p, float* part_acc,
                      float* part_ml, cudaStream_t stream) {
  switch (p.group_tile) {
    case 1: return launch_split<HD, 1>(a, p, part_acc, part_ml, stream);
    case 2: return launch_split<HD, 2>(a, p, part_acc, part_ml, stream);
    case 4: return launch_split<HD, 4>(a, p, part_acc, part_ml, stream);
    case 8: return launch_split<HD, 8>(a, p, part_acc, part_ml, stream);
    default: PD_CHECK(false) << "decode attention: group tile " << p.group_tile;
  }
}

}  // namespace

size_t DecodeAttentionPlan::workspace_bytes(int num_seqs, int num_heads, int head_dim) const {
  if (num_splits == 1) return 0;
  return static_cast<size_t>(num_seqs) * num_heads * num_splits * (head_dim + 2) * sizeof(float);
}

bool decode_attention_supports(int head_dim) {
  return head_dim == 64 || head_dim == 128 || head_dim == 256;
}

DecodeAttentionPlan plan_decode_attention(int num_seqs, int num_heads, int num_kv_heads,
                                          int max_context_len, int num_sms) {
  DecodeAttentionPlan p;
  const int group = num_heads / num_kv_heads;
  while (p.group_tile < group && p.group_tile < 8) p.group_tile *= 2;
  p.head_chunks = (group + p.group_tile - 1) / p.group_tile;
  const int64_t blocks = static_cast<int64_t>(num_seqs) * num_kv_heads * p.head_chunks;
  const int64_t wanted = (static_cast<int64_t>(kBlocksPerSm) * num_sms + blocks - 1) / blocks;
  const int64_t useful = (std::max(max_context_len, 1) + kMinSplitKeys - 1) / kMinSplitKeys;
  p.num_splits = static_cast<int>(std::clamp<int64_t>(std::min(wanted, useful), 1, kMaxSplits));
  return p;
}

void launch_decode_attention(const AttentionArgs& args, const DecodeAttentionPlan& plan,
                             void* workspace, void* stream) {
  if (args.num_seqs == 0) return;
  cudaStream_t s = as_stream(stream);
  float* part_acc = static_cast<float*>(workspace);
  float* part_ml = part_acc ? part_acc + static_cast<size_t>(args.num_seqs) * args.num_heads *
                                             plan.num_splits * args.head_dim
                            : nullptr;
  PD_CHECK(plan.num_splits == 1 || workspace) << "decode attention: no workspace for the splits";
  switch (args.head_dim) {
    case 64: launch_for_group<64>(args, plan, part_acc, part_ml, s); break;
    case 128: launch_for_group<128>(args, plan, part_acc, part_ml, s); break;
    case 256: launch_for_group<256>(args, plan, part_acc, part_ml, s); break;
    default: PD_CHECK(false) << "decode attention: head_dim " << args.head_dim;
  }
  PD_CUDA_CHECK(cudaGetLastError());
  if (plan.num_splits > 1) {
    const dim3 grid(static_cast<unsigned>(args.num_heads), static_cast<unsigned>(args.num_seqs));
    decode_reduce_kernel<<<grid, static_cast<unsigned>(args.head_dim), 0, s>>>(
        args, plan.num_splits, part_acc, part_ml);
    PD_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace pdserve::backend::cuda
