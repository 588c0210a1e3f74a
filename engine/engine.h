// The engine facade: requests in, tokens out, one step at a time, over a
// ModelRunner. Both workers use it: the decode worker for plain requests and
// remote-prefill decodes, the prefill worker for prefill-only requests.
//
//   auto engine = Engine::create(config, &runner).value();
//   engine->add_request({.request_id = 1, .prompt_ids = ids, .sampling = params});
//   while (engine->has_unfinished()) {
//     for (const RequestOutput& out : engine->step().value()) stream(out);
//   }
//   // or, to completion: engine->generate(specs)
//
// Worker roles:
//   prefill worker  add_request({..., .prefill_only = true, .keep_blocks = true});
//                   step() until its output is finished: first token + block_ids;
//                   transfer the blocks, then release(id) (or abort(id)).
//   decode worker   alloc = allocate_for_remote_prefill(spec)   // blocks for the prompt
//                   ... the prefill worker writes blocks alloc.block_ids[i] for
//                   i >= alloc.num_cached_tokens / block_size ...
//                   start_decode(id, first_token); step() as usual.
//
// Async scheduling (config.async_scheduling): execution runs on a runner
// thread; step() schedules step N+1, hands it to the runner, then waits for
// step N and returns N's outputs (they lag one step). Outputs are identical
// with async on and off.
//
// Errors: a step the runner fails (an error status, or a PD_CHECK failed
// inside it: the runner runs under RecoverableChecks, see step_executor.h)
// fails only the requests of that step: they finish with FinishReason::kError
// and their blocks are freed; the engine goes on. With async scheduling the
// step already submitted behind it fails too when it uses one of them. A
// broken invariant of the engine's own bookkeeping makes step() return
// kInternal, and every later call returns the same status (the engine is
// dead; the worker fails its requests).
//
// Thread-safety: not thread-safe; one thread calls everything (the worker's
// engine loop). The runner thread is internal.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "common/base/status.h"
#include "engine/kv/block_pool.h"
#include "engine/runner/model_runner.h"
#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/step_executor.h"

namespace pdserve::engine {

using scheduler::FinishReason;
using scheduler::RemotePrefillAllocation;
using scheduler::RequestOutput;
using scheduler::RequestSpec;

struct EngineConfig {
  scheduler::SchedulerConfig scheduler;
  bool async_scheduling = false;
  // Block accounting after every step (always when idle). Default: debug builds.
#ifdef NDEBUG
  bool check_invariants_every_step = false;
#else
  bool check_invariants_every_step = true;
#endif
};

// One request run to completion by generate().
struct GenerateResult {
  uint64_t request_id = 0;
  std::vector<int32_t> token_ids;
  std::vector<float> logprobs;  // per token, when num_logprobs >= 0
  FinishReason finish_reason = FinishReason::kNone;
  std::optional<int32_t> stop_token_id;
  std::vector<int32_t> block_ids;  // prefill-only with keep_blocks
  int num_cached_tokens = 0;
};

class Engine {
 public:
  // kInvalidArgument for a bad config (swap preemption included, when the
  // runner has no host tier). `runner` must outlive the engine.
  static Result<std::unique_ptr<Engine>> create(const EngineConfig& config,
                                                runner::ModelRunner* runner);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // See Scheduler for the statuses (kResourceExhausted: overloaded, 429/503;
  // kInvalidArgument: can never fit, or a token id outside the vocabulary).
  Status add_request(RequestSpec spec);
  Result<RemotePrefillAllocation> allocate_for_remote_prefill(RequestSpec spec);
  int num_cached_prefix_tokens(const RequestSpec& spec) const {
    return scheduler_.num_cached_prefix_tokens(spec);
  }
  Status start_decode(uint64_t request_id, const runner::SampledToken& first_token);
  Status release(uint64_t request_id);
  Status abort(uint64_t request_id);

  // One iteration: schedule, execute, process. The outputs of every request
  // that produced a token, finished or was aborted.
  Result<std::vector<RequestOutput>> step();
  // Work left for step(): queued, running, in flight, or outputs to deliver.
  bool has_unfinished() const;
  // The last step() scheduled nothing and waited on nothing: stepping again
  // is useless until a request is added, started, released or aborted.
  bool last_step_idle() const { return last_step_idle_; }

  // Adds the requests (waiting for queue space when the queue is full) and
  // steps until all finished; results in input order. Other requests in the
  // engine progress too (their outputs are dropped). kResourceExhausted when
  // nothing can progress (every block held by pinned / remote-KV requests).
  Result<std::vector<GenerateResult>> generate(std::vector<RequestSpec> requests);

  scheduler::SchedulerStats stats() const { return scheduler_.stats(); }
  std::vector<kv::KvEvent> take_kv_events() { return scheduler_.take_kv_events(); }
  std::optional<scheduler::RequestState> request_state(uint64_t request_id) const {
    return scheduler_.state_of(request_id);
  }
  int block_size() const { return scheduler_.kv().block_size(); }
  Status check_invariants() const { return scheduler_.check_invariants(); }

 private:
  Engine(const EngineConfig& config, runner::ModelRunner* runner);
  Status fail(Status status);
  // kInvalidArgument for a prompt token id outside [0, vocab_size).
  Status check_token_ids(const RequestSpec& spec) const;
  void submit(scheduler::ScheduledStep step);
  Status update_oldest();

  EngineConfig config_;
  scheduler::Scheduler scheduler_;
  scheduler::StepExecutor executor_;
  std::deque<scheduler::ScheduledStep> in_flight_;  // submitted, not updated
  bool last_step_idle_ = false;  // the last step scheduled nothing and waited on nothing
  int vocab_size_ = 0;
  Status failed_;
};

}  // namespace pdserve::engine
