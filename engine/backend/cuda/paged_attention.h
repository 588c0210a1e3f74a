#pragma once
#include <cstdint>

namespace pdserve::backend::cuda {
// Backend::paged_attention on the GPU. q, out bf16 [num_tokens, heads * head_dim];
// kv bf16 [num_blocks, 2, block_size, kv_heads * head_dim]; head_dim at most 256.
struct AttentionArgs {
  const uint16_t* q;
  const uint16_t* kv;
  const int32_t* query_start;   // [num_seqs + 1]
  const int32_t* context_lens;  // [num_seqs]
  const int32_t* block_tables;  // [num_seqs, max_blocks]
  int max_blocks;
  int num_seqs;
  int num_tokens;
  int block_size;
  int num_heads, num_kv_heads, head_dim;
  int sliding_window;
  float scale;
  uint16_t* out;
};
void launch_paged_attention(const AttentionArgs& args, void* stream);
}  // namespace pdserve::backend::cuda
