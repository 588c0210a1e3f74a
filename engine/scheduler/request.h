// A request as the scheduler tracks it, and its life:
//
//   add_request ──► WAITING ──schedule──► RUNNING ──stop / length──► FINISHED
//                    ▲  ▲                 │  │  │
//                    │  └─preempt (recompute: blocks freed)
//                    │                    │  │  └─prefill-only+keep_blocks─► PINNED ─release─► gone
//      resume ─ SWAPPED ◄──preempt (swap: blocks to host)
//                                            │
//   allocate_for_remote_prefill ──► REMOTE_KV ──start_decode──► RUNNING
//
//   abort: from every state to FINISHED ("abort"), freeing what it holds.
//   a step that fails (runner error, failed check): its requests to
//   FINISHED ("error"), freeing what they hold.
//
// WAITING and SWAPPED requests sit in the waiting queue, ordered by
// (priority, arrival): a preempted request keeps its arrival, so it goes back
// in front of everything that came after it. FINISHED requests that a step
// still in flight uses (async scheduling) keep their blocks until that step
// completes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/protocol/block_hash.h"
#include "common/protocol/prompt_request.h"
#include "common/protocol/sampling_params.h"
#include "engine/runner/model_runner.h"

namespace pdserve::scheduler {

enum class RequestState { kWaiting, kRunning, kSwapped, kRemoteKv, kPinned, kFinished };
std::string_view request_state_name(RequestState state);

enum class FinishReason { kNone, kStop, kLength, kAbort, kError };
// "stop", "length", "abort", "error"; "" for kNone. Only "stop" and "length"
// are OpenAI finish_reasons: an aborted request's client is gone, a failed
// one gets an error instead.
std::string_view finish_reason_name(FinishReason reason);

// When a request arrived and when a step first scheduled it (for a remote-KV
// request: when its blocks were allocated); unset before that. The workers'
// queue / prefill / decode time metrics come from these.
struct RequestTimes {
  std::chrono::steady_clock::time_point arrival = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> scheduled;
};

// What a caller submits: the prompt request (prompt, sampling, cache salt,
// priority) and the engine's own id for it.
struct RequestSpec : protocol::PromptRequest {
  uint64_t request_id = 0;
  // Prefill worker role: compute the prompt's KV and sample the first token
  // only (max_tokens is taken as 1). With keep_blocks the blocks stay pinned
  // after it finishes (state PINNED) until release().
  bool prefill_only = false;
  bool keep_blocks = false;
};

struct Request {
  explicit Request(RequestSpec s, uint64_t arrival_idx);

  RequestSpec spec;
  uint64_t id = 0;
  uint64_t arrival = 0;  // admission order
  RequestState state = RequestState::kWaiting;
  int max_tokens = 0;  // spec.sampling.max_tokens, or 1 for prefill-only

  std::vector<int32_t> output_ids;
  std::vector<protocol::BlockHash> block_hashes;  // of every full block of known tokens

  // Positions [0, num_computed) have KV computed or scheduled in a step.
  int num_computed = 0;
  // ... of which completed steps computed [0, num_computed_done).
  int num_computed_done = 0;
  // Tokens sampled in scheduled steps whose outputs are not processed yet
  // (async scheduling); they follow output_ids.
  int num_placeholders = 0;
  // Speculative decoding: tokens the runner proposed to follow output_ids,
  // to be verified in the next step (kept only while RUNNING).
  std::vector<int32_t> draft_ids;
  // Bumped whenever the blocks are dropped or moved (preemption, swap), so
  // that a step scheduled before does not count towards the new blocks.
  uint64_t epoch = 0;
  uint64_t last_step_id = 0;  // last step that scheduled it
  bool in_runner = false;     // add_sequence was sent
  int num_cached_tokens = 0;  // prefix-cache hit at first admission
  int num_preemptions = 0;
  RequestTimes times;
  FinishReason finish_reason = FinishReason::kNone;
  std::optional<int32_t> stop_token_id;

  int prompt_len() const { return static_cast<int>(spec.prompt_ids.size()); }
  int num_tokens() const { return prompt_len() + static_cast<int>(output_ids.size()); }
  int num_tokens_with_placeholders() const { return num_tokens() + num_placeholders; }
  int32_t token_at(int pos) const;
  // Hashes the full blocks of known tokens not hashed yet.
  void extend_block_hashes(int block_size);
  // The runner's view: prompt plus what was generated before it saw it.
  runner::SequenceInfo sequence_info() const;
};

}  // namespace pdserve::scheduler
