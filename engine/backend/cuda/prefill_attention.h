// Prefill attention on tensor cores (FlashAttention-2 manner) over the paged
// KV cache: the same AttentionArgs as paged_attention.h, so it attends to
// cached prefix blocks and to earlier chunks, and serves a varlen batch.
#pragma once

#include "engine/backend/cuda/paged_attention.h"

namespace pdserve::backend::cuda {

// True when a variant exists for head_dim (64, 128 or 256).
bool prefill_attention_supported(int head_dim);

// Causal attention (and the sliding window when args.sliding_window > 0) of
// every query of args; max_query_len >= each sequence's query count sizes the
// grid. Precondition: prefill_attention_supported(args.head_dim).
void launch_prefill_attention(const AttentionArgs& args, int max_query_len, void* stream);

}  // namespace pdserve::backend::cuda
