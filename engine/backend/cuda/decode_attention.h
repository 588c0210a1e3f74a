// Split-K (flash-decoding) attention of one query token per sequence over
// the paged KV cache. Plan on the host, run on the device:
// plan_decode_attention() picks how many thread blocks share one sequence's
// context (from the batch, the heads and the SM count, never from a single
// step's lengths, so that a plan made for an upper bound of the context
// serves every step of a captured CUDA graph); launch_decode_attention()
// runs the split pass and, with more than one split, the reduction pass.
#pragma once

#include <cstddef>

#include "engine/backend/cuda/paged_attention.h"

namespace pdserve::backend::cuda {

struct DecodeAttentionPlan {
  int num_splits = 1;   // thread blocks per (sequence, KV head, head chunk)
  int head_chunks = 1;  // a GQA group's query heads are taken group_tile at a time
  int group_tile = 1;   // query heads one block handles: 1, 2, 4 or 8
  // f32 scratch of the reduction pass, 0 with one split.
  size_t workspace_bytes(int num_seqs, int num_heads, int head_dim) const;
};

// True when the kernel has a variant for this head_dim (64, 128, 256).
bool decode_attention_supports(int head_dim);

// max_context_len: an upper bound of every context length the plan will see.
DecodeAttentionPlan plan_decode_attention(int num_seqs, int num_heads, int num_kv_heads,
                                          int max_context_len, int num_sms);

// args: one query per sequence (num_tokens == num_seqs, query_start unused);
// a sequence whose context length is 0 gets zeros. workspace:
// plan.workspace_bytes(...) bytes of device memory (or nullptr when 0).
void launch_decode_attention(const AttentionArgs& args, const DecodeAttentionPlan& plan,
                             void* workspace, void* stream);

}  // namespace pdserve::backend::cuda
