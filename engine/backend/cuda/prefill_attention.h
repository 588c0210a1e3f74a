// Prefill attention on tensor cores (FlashAttention-2 manner) over the paged
// KV cache: the same AttentionArgs as paged_attention.h, so it attends to
// cached prefix blocks and to earlier chunks, and serves a varlen batch.
#pragma once

#include "engine/backend/cuda/paged_attention.h"

namespace pdserve::backend::cuda {

// True when a variant exists for head_dim (64, 128 or 256).
bool prefill_attention_supported(int head_dim);

// The plan's query rows per warp at head_dim: 32 (four warps per 128-query
// tile, each K/V fragment feeding two MMAs) up to head_dim 128, else 16
// (eight warps; at 256 the accumulators of 32 rows would not fit in registers).
int prefill_attention_warp_rows(int head_dim);

// Causal attention (and the sliding window when args.sliding_window > 0) of
// every query of args; max_query_len >= each sequence's query count sizes the
// grid. warp_rows: 16, 32 (head_dim <= 128 only) or 0 for the plan's choice.
// Precondition: prefill_attention_supported(args.head_dim).
void launch_prefill_attention(const AttentionArgs& args, int max_query_len, void* stream,
                              int warp_rows = 0);

}  // namespace pdserve::backend::cuda
