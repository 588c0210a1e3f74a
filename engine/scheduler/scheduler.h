// The scheduler: continuous batching with chunked prefill, prefix caching,
// priorities, preemption and the prefill / decode worker roles. Pure CPU
// logic; it decides what each sequence computes in a step and which blocks
// hold it, and turns sampled tokens into per-request outputs. The Engine
// (engine/engine.h) drives it against a ModelRunner.
//
// One step:
//   ScheduledStep s = scheduler.schedule();   // running first, then waiting
//   ... runner: remove_sequence(s.remove_seqs), add_sequence(s.add_seqs),
//       execute(s.batch) ...
//   scheduler.update(s, output);               // append tokens, stop checks
//   outputs = scheduler.take_outputs();
// With async scheduling the caller may schedule step N+1 before update(N);
// positions whose token is not known yet are runner::kLastSampled. Steps are
// updated in the order they were scheduled.
//
// Policy per step (vLLM v1): running decodes first, then running prefills
// (continuing chunks), then waiting requests in (priority, arrival) order,
// within max_num_batched_tokens tokens and max_num_seqs requests; a prefill
// takes what the budget leaves (chunked). When a running request needs a block
// and none is free, the running request with the largest (priority,
// arrival) is preempted (possibly the one asking); no waiting request is
// admitted in a step that preempted. The waiting queue stops at the first
// request that does not fit (no overtaking).
//
// Block life in async mode: a request that finishes or is aborted while a
// scheduled step still uses it keeps its blocks (and its runner sequence)
// until that step is updated.
//
// Not thread-safe: one thread calls everything.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/base/status.h"
#include "engine/kv/kv_cache_manager.h"
#include "engine/runner/model_runner.h"
#include "engine/scheduler/request.h"
#include "engine/scheduler/request_queue.h"
#include "engine/scheduler/scheduler_config.h"

namespace pdserve::scheduler {

// Bookkeeping for one SeqStep of a scheduled batch.
struct ScheduledSeq {
  uint64_t request_id = 0;
  uint64_t epoch = 0;
  int num_tokens = 0;
  bool sample = false;
  int num_draft_tokens = 0;  // of num_tokens, proposals to verify
};

struct ScheduledStep {
  uint64_t step_id = 0;
  std::vector<uint64_t> remove_seqs;           // runner.remove_sequence, first
  std::vector<runner::SequenceInfo> add_seqs;  // runner.add_sequence, then
  runner::StepBatch batch;                     // runner.execute, when not empty
  std::vector<ScheduledSeq> seqs;              // parallel to batch.seqs
  std::vector<uint64_t> swapped_ids;           // requests whose blocks batch's swaps move

  bool has_batch() const {
    return !batch.seqs.empty() || !batch.swap_in.empty() || !batch.swap_out.empty();
  }
  bool empty() const { return !has_batch() && remove_seqs.empty() && add_seqs.empty(); }
};

// What a request produced since the last take_outputs().
struct RequestOutput {
  uint64_t request_id = 0;
  std::vector<runner::SampledToken> new_tokens;
  bool finished = false;
  FinishReason finish_reason = FinishReason::kNone;
  std::optional<int32_t> stop_token_id;
  // Prefill-only with keep_blocks, on finishing: the pinned blocks holding
  // the prompt's KV, until release().
  std::vector<int32_t> block_ids;
  int num_cached_tokens = 0;  // prompt tokens served from the prefix cache
  // kError: why the step failed, for the logs (never for clients).
  std::string error;
  int num_prompt_tokens = 0;
  RequestTimes times;
};

struct RemotePrefillAllocation {
  // Blocks covering the prompt, position p in block_ids[p / block_size].
  std::vector<int32_t> block_ids;
  // The first num_cached_tokens / block_size blocks already hold the
  // prompt's KV (this worker's prefix cache, shared): do not write them.
  int num_cached_tokens = 0;
};

// Speculative decoding, as vLLM counts it: a draft is one step's proposals
// for one request; accepted tokens are the proposals the verifier kept
// (emitted tokens = accepted + one per draft).
struct SpecDecodeStats {
  int64_t num_drafts = 0;
  int64_t num_draft_tokens = 0;
  int64_t num_accepted_tokens = 0;
  std::vector<int64_t> num_accepted_tokens_per_pos;  // [num_speculative_tokens]
};

struct SchedulerStats {
  int num_waiting = 0;  // includes swapped
  int num_swapped = 0;
  int num_running = 0;
  int num_remote_kv = 0;
  int num_pinned = 0;
  int64_t num_waiting_tokens = 0;
  int64_t num_preemptions = 0;
  kv::KvUsage kv;
  kv::PrefixCacheStats prefix_cache;
  SpecDecodeStats spec_decode;
};

class Scheduler {
 public:
  // The geometry comes from the runner; config must be valid (validate()).
  Scheduler(const SchedulerConfig& config, const kv::KvCacheConfig& kv_config, int max_model_len,
            std::vector<int32_t> eos_token_ids);

  // Queues a request. kAlreadyExists (id in use), kInvalidArgument (empty
  // prompt, bad max/min_tokens, cannot ever fit: prompt + max_tokens over
  // max_model_len or more blocks than the pool), kResourceExhausted (the
  // waiting queue is full in requests or tokens: retry later / 429).
  Status add_request(RequestSpec spec);

  // Decode worker role: admits the request and allocates blocks for its
  // prompt, to be filled by a remote prefill. The same kInvalidArgument /
  // kAlreadyExists as add_request; kResourceExhausted when max_num_seqs
  // requests are active or the blocks are not free now (nothing is queued).
  Result<RemotePrefillAllocation> allocate_for_remote_prefill(RequestSpec spec);
  // Prompt tokens of `spec` that the prefix cache holds now, as an
  // allocation would find them (whole blocks). Counts no cache query.
  int num_cached_prefix_tokens(const RequestSpec& spec) const;
  // The remote prefill filled the blocks: the request joins the running
  // batch with `first_token` as its first output (emitted, stop-checked).
  // kNotFound / kFailedPrecondition (not waiting for remote KV).
  Status start_decode(uint64_t request_id, const runner::SampledToken& first_token);
  // Frees a PINNED request's blocks. kNotFound / kFailedPrecondition.
  Status release(uint64_t request_id);
  // Ends a request in any state, freeing what it holds; emits a final
  // output with "abort" unless it had already finished (PINNED). kNotFound.
  Status abort(uint64_t request_id);

  ScheduledStep schedule();
  // Processes a completed step. kInternal when the output does not match the
  // batch (a runner bug); the scheduler is then unusable.
  Status update(const ScheduledStep& step, const runner::StepOutput& output);
  // Processes a step the runner failed (`why`): every live request it
  // computed or swapped finishes with kError (a final output carrying why),
  // freeing its blocks, as abort() would; the other requests go on. Steps
  // scheduled after it are updated as usual.
  void fail_step(const ScheduledStep& step, const Status& why);
  std::vector<RequestOutput> take_outputs();

  // Something to schedule, retire or deliver (REMOTE_KV and PINNED
  // requests wait on the caller and do not count).
  bool has_work() const;
  bool has_requests() const { return !waiting_.empty() || !running_.empty(); }
  // Nothing to compute, but runner sequences to forget: one more (empty)
  // step tells the runner.
  bool has_only_removals() const {
    return waiting_.empty() && running_.empty() && retired_.empty() && !pending_removes_.empty();
  }
  // The state of a live request (FINISHED ones are forgotten): nullopt.
  std::optional<RequestState> state_of(uint64_t request_id) const;
  SchedulerStats stats() const;
  std::vector<kv::KvEvent> take_kv_events() { return kv_.take_events(); }
  const kv::KvCacheManager& kv() const { return kv_; }
  // Block accounting plus: every block table belongs to a live request.
  Status check_invariants() const;

 private:
  struct Planned {
    Request* request;
    int num_tokens;
    int num_draft_tokens = 0;  // the last ones of num_tokens
    int num_propose = 0;
  };

  Status validate_new(const RequestSpec& spec) const;
  Request* insert(RequestSpec spec);
  Request* find(uint64_t request_id) const;
  int num_active() const { return static_cast<int>(running_.size()) + num_remote_kv_; }

  // schedule.cpp
  int num_new_tokens(const Request& r, int budget) const;
  // A running request's work: new tokens, plus proposals to verify and to
  // ask for when `speculate`.
  Planned plan_running(Request* r, int budget, bool speculate) const;
  // Proposals to ask for from a step whose inputs end at position `end`.
  int num_to_propose(const Request& r, int end) const;
  // Whether this step speculates: enabled, and fewer requests than the
  // adaptive cut running, prefilling, waiting or swapped.
  bool speculation_on() const;
  Request* pick_victim() const;
  void preempt(Request* victim, ScheduledStep* step, std::vector<Planned>* plan, int* budget);
  void admit_waiting(ScheduledStep* step, std::vector<Planned>* plan, int* budget, bool speculate);
  void build_batch(const std::vector<Planned>& plan, ScheduledStep* step);

  // scheduler_update.cpp
  // Appends tokens one by one, stop-checked; the rest is dropped once the
  // request finishes. One output for all. Returns whether it still runs.
  bool append_tokens(Request* r, std::span<const runner::SampledToken> tokens);
  void count_speculation(int num_draft_tokens, int num_emitted);
  void finish(Request* r, FinishReason reason, RequestOutput* out);
  void retire(std::unique_ptr<Request> r);
  void release_retired();
  void cache_computed_blocks(Request* r);

  SchedulerConfig config_;
  kv::KvCacheManager kv_;
  int max_model_len_;
  std::vector<int32_t> eos_token_ids_;

  std::unordered_map<uint64_t, std::unique_ptr<Request>> requests_;  // live
  RequestQueue waiting_;
  std::vector<Request*> running_;
  int num_remote_kv_ = 0;
  int num_pinned_ = 0;
  // Finished or aborted, still used by a step in flight.
  std::vector<std::unique_ptr<Request>> retired_;
  std::vector<uint64_t> pending_removes_;  // runner sequences to forget
  std::vector<RequestOutput> outputs_;

  uint64_t next_arrival_ = 0;
  uint64_t next_step_id_ = 0;
  uint64_t last_updated_step_id_ = 0;
  int64_t num_preemptions_ = 0;
  SpecDecodeStats spec_stats_;
};

}  // namespace pdserve::scheduler
