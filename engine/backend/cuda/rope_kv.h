#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// Backend::qkv_rope_write_kv on the GPU: qkv bf16 [n, (heads + 2 kv_heads) * head_dim];
// optional q/k RMSNorm per head (f32 weights [head_dim]); RoPE ("rotate half",
// angle = position * inv_freq[i], cos/sin times attention_scaling); K and V
// written (bf16) to kv [num_blocks, 2, block_size, kv_heads * head_dim] at
// slots[t] (negative: skipped); rotated q to q_out bf16 [n, heads * head_dim].
struct RopeKvArgs {
  const uint16_t* qkv;
  const float* q_norm;
  const float* k_norm;
  float norm_eps;
  const float* inv_freq;
  float attention_scaling;
  const int32_t* positions;
  const int32_t* slots;
  uint16_t* kv;
  int block_size;
  int num_heads, num_kv_heads, head_dim;
  uint16_t* q_out;
  int64_t n;
};
void launch_rope_write_kv(const RopeKvArgs& args, void* stream);
}  // namespace pdserve::backend::cuda
