// Scheduler knobs (vLLM names where they exist).
#pragma once

#include <cstdint>

#include "common/base/status.h"

namespace pdserve::scheduler {

inline constexpr int kMaxSpeculativeTokens = 16;

enum class PreemptionMode {
  kRecompute,  // free the blocks; prefill prompt + generated tokens again later
  kSwap,       // copy the blocks to the host tier; falls back to recompute when it is full
};

struct SchedulerConfig {
  int max_num_seqs = 256;             // requests in the running batch
  int max_num_batched_tokens = 2048;  // tokens computed per step
  int max_prefill_chunk_tokens = 0;   // cap on one prefill chunk; 0: the budget left
  int max_waiting_requests = 4096;    // admission limit (kResourceExhausted past it)
  int64_t max_waiting_tokens = 1 << 22;
  PreemptionMode preemption_mode = PreemptionMode::kRecompute;
  bool enable_prefix_caching = true;
  // Speculative decoding: tokens proposed per step for each decoding request
  // (0: off; the runner proposes them, see runner::SeqStep::num_propose), and
  // the adaptive cut: no speculation in a step while this many requests or
  // more are running, waiting or swapped (the batch is, or is about to be,
  // large enough that verifying stops being nearly free).
  int num_speculative_tokens = 0;
  int speculative_disable_batch_size = 32;
};

// kInvalidArgument naming the bad field.
Status validate(const SchedulerConfig& config);

}  // namespace pdserve::scheduler
