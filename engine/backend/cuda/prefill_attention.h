// Prefill attention on tensor cores (FlashAttention-2 manner) over the paged
// KV cache: the same AttentionArgs as paged_attention.h, so it attends to
// cached prefix blocks and to earlier chunks, and serves a varlen batch.
#pragma once

#include "engine/backend/cuda/paged_attention.h"

namespace pdserve::backend::cuda {

// The kernel variants: mma.sync with 16 query rows per warp (eight warps per
// 128-query tile), or 32 (four warps, each K/V fragment feeding two MMAs;
// head_dim <= 128: at 256 the accumulators would not fit in registers); and
// wgmma (Hopper, compute capability 9.0; two warpgroups of 64 rows; head_dim
// <= 128).
enum class PrefillKernel { kMma16, kMma32, kWgmma };

// True when a variant exists for head_dim (64, 128 or 256).
bool prefill_attention_supported(int head_dim);

// True when `kernel` has a variant for head_dim on a GPU of compute
// capability major * 10 + minor.
bool prefill_attention_runs(PrefillKernel kernel, int head_dim, int compute_capability);

// The plan's kernel: wgmma at head_dim 128 where it runs (the one head dim
// where it measured faster), else mma.sync with 32 rows per warp up to
// head_dim 128 and 16 beyond.
PrefillKernel plan_prefill_attention(int head_dim, int compute_capability);

const char* prefill_kernel_name(PrefillKernel kernel);

// Causal attention (and the sliding window when args.sliding_window > 0) of
// every query of args; max_query_len >= each sequence's query count sizes the
// grid. The first form takes the plan's kernel for the current device.
// Precondition: prefill_attention_supported(args.head_dim), and for the second
// form prefill_attention_runs(kernel, ...) on the current device.
void launch_prefill_attention(const AttentionArgs& args, int max_query_len, void* stream);
void launch_prefill_attention(const AttentionArgs& args, int max_query_len, void* stream,
                              PrefillKernel kernel);

}  // namespace pdserve::backend::cuda
