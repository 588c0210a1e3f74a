#include "engine/backend/cuda/rope_kv.h"

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kMaxHeadDim = 512;

// One warp per head of a token (q heads, then k heads, then v heads), kWarps
// heads per block: grid (tokens, heads / kWarps). The head is staged in
// shared memory as fp32. (One block per token, its warps taking heads in
// turn, left a batch-1 decode step with one busy SM for 10 us a layer.)
__global__ void rope_kv_kernel(RopeKvArgs a) {
  __shared__ float head[kWarps][kMaxHeadDim];
  const int64_t t = blockIdx.x;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int hd = a.head_dim, half = hd / 2;
  const int width = (a.num_heads + 2 * a.num_kv_heads) * hd;
  const int kv_dim = a.num_kv_heads * hd;
  const float pos = static_cast<float>(a.positions[t]);
  const int32_t slot = a.slots[t];
  const int64_t block = slot >= 0 ? slot / a.block_size : 0,
                off = slot >= 0 ? slot % a.block_size : 0;
  float* h = head[warp];
  const int idx = static_cast<int>(blockIdx.y) * kWarps + warp;
  if (idx < a.num_heads + 2 * a.num_kv_heads) {
    const uint16_t* src = a.qkv + t * width + static_cast<int64_t>(idx) * hd;
    for (int j = lane; j < hd; j += 32) h[j] = bf16_bits_to_float(src[j]);
    __syncwarp();
    const bool is_q = idx < a.num_heads, is_k = !is_q && idx < a.num_heads + a.num_kv_heads;
    if (is_q || is_k) {
      const float* norm = is_q ? a.q_norm : a.k_norm;
      if (norm) {
        float ss = 0.0f;
        for (int j = lane; j < hd; j += 32) ss += h[j] * h[j];
        const float inv = rsqrtf(warp_sum(ss) / static_cast<float>(hd) + a.norm_eps);
        for (int j = lane; j < hd; j += 32) h[j] = norm[j] * (h[j] * inv);
        __syncwarp();
      }
      for (int i = lane; i < half; i += 32) {
        float s, c;
        sincosf(pos * a.inv_freq[i], &s, &c);
        c *= a.attention_scaling;
        s *= a.attention_scaling;
        const float x0 = h[i], x1 = h[i + half];
        h[i] = x0 * c - x1 * s;
        h[i + half] = x1 * c + x0 * s;
      }
      __syncwarp();
    }
    if (is_q) {
      uint16_t* dst = a.q_out + t * a.num_heads * hd + static_cast<int64_t>(idx) * hd;
      for (int j = lane; j < hd; j += 32) dst[j] = float_to_bf16_bits(h[j]);
    } else if (slot >= 0) {
      const int which = is_k ? 0 : 1;
      const int kvh = idx - a.num_heads - (is_k ? 0 : a.num_kv_heads);
      uint16_t* dst = a.kv + ((block * 2 + which) * a.block_size + off) * kv_dim +
                      static_cast<int64_t>(kvh) * hd;
      for (int j = lane; j < hd; j += 32) dst[j] = float_to_bf16_bits(h[j]);
    }
  }
}

}  // namespace

void launch_rope_write_kv(const RopeKvArgs& args, void* stream) {
  PD_CHECK(args.head_dim <= kMaxHeadDim && args.head_dim % 2 == 0) << "head_dim " << args.head_dim;
  if (args.n == 0) return;
  const int heads = args.num_heads + 2 * args.num_kv_heads;
  const dim3 grid(static_cast<unsigned>(args.n),
                  static_cast<unsigned>((heads + kWarps - 1) / kWarps));
  rope_kv_kernel<<<grid, kWarps * 32, 0, as_stream(stream)>>>(args);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
