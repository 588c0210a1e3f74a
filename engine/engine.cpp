#include "engine/engine.h"

#include <unordered_map>

#include "common/base/logging.h"

namespace pdserve::engine {

Result<std::unique_ptr<Engine>> Engine::create(const EngineConfig& config,
                                               runner::ModelRunner* runner) {
  if (runner == nullptr) return invalid_argument("Engine::create: no runner");
  PD_RETURN_IF_ERROR(scheduler::validate(config.scheduler));
  if (config.async_scheduling && config.scheduler.num_speculative_tokens > 0) {
    return invalid_argument(
        "speculative decoding needs synchronous scheduling (no async scheduling)");
  }
  if (runner->block_size() < 1 || runner->num_blocks() < 1 || runner->max_model_len() < 1 ||
      runner->num_host_blocks() < 0) {
    return invalid_argument("runner geometry: block_size " + std::to_string(runner->block_size()) +
                            ", num_blocks " + std::to_string(runner->num_blocks()) +
                            ", num_host_blocks " + std::to_string(runner->num_host_blocks()) +
                            ", max_model_len " + std::to_string(runner->max_model_len()));
  }
  if (config.scheduler.preemption_mode == scheduler::PreemptionMode::kSwap &&
      runner->num_host_blocks() == 0) {
    return invalid_argument(
        "preemption mode swap needs a host KV tier to swap to, and there is none (--swap-space "
        "gives one)");
  }
  return std::unique_ptr<Engine>(new Engine(config, runner));
}

Engine::Engine(const EngineConfig& config, runner::ModelRunner* runner)
    : config_(config),
      scheduler_(config.scheduler,
                 kv::KvCacheConfig{runner->num_blocks(), runner->num_host_blocks(),
                                   runner->block_size(), config.scheduler.enable_prefix_caching},
                 runner->max_model_len(), runner->eos_token_ids()),
      executor_(runner, config.async_scheduling),
      vocab_size_(runner->vocab_size()) {}

Engine::~Engine() {
  // Let the runner thread finish what it was given; its outputs are dropped.
  while (executor_.num_in_flight() > 0) (void)executor_.wait();
}

Status Engine::fail(Status status) {
  if (failed_.ok()) {
    failed_ = status;
    PD_LOG(ERROR) << "engine failed: " << status.to_string();
  }
  return failed_;
}

Status Engine::check_token_ids(const RequestSpec& spec) const {
  for (int32_t id : spec.prompt_ids) {
    if (id < 0 || id >= vocab_size_) {
      return invalid_argument("request " + std::to_string(spec.request_id) + ": token id " +
                              std::to_string(id) + " outside the vocabulary of " +
                              std::to_string(vocab_size_));
    }
  }
  return ok_status();
}

Status Engine::add_request(RequestSpec spec) {
  PD_RETURN_IF_ERROR(failed_);
  PD_RETURN_IF_ERROR(check_token_ids(spec));
  return scheduler_.add_request(std::move(spec));
}

Result<RemotePrefillAllocation> Engine::allocate_for_remote_prefill(RequestSpec spec) {
  PD_RETURN_IF_ERROR(failed_);
  PD_RETURN_IF_ERROR(check_token_ids(spec));
  return scheduler_.allocate_for_remote_prefill(std::move(spec));
}

Status Engine::start_decode(uint64_t request_id, const runner::SampledToken& first_token) {
  PD_RETURN_IF_ERROR(failed_);
  return scheduler_.start_decode(request_id, first_token);
}

Status Engine::release(uint64_t request_id) {
  PD_RETURN_IF_ERROR(failed_);
  return scheduler_.release(request_id);
}

Status Engine::abort(uint64_t request_id) {
  PD_RETURN_IF_ERROR(failed_);
  return scheduler_.abort(request_id);
}

bool Engine::has_unfinished() const {
  return failed_.ok() && (scheduler_.has_work() || !in_flight_.empty());
}

void Engine::submit(scheduler::ScheduledStep step) {
  executor_.submit(scheduler::StepJob{std::move(step.remove_seqs), std::move(step.add_seqs),
                                      std::move(step.batch)});
  in_flight_.push_back(std::move(step));
}

Status Engine::update_oldest() {
  Result<runner::StepOutput> out = executor_.wait();
  scheduler::ScheduledStep step = std::move(in_flight_.front());
  in_flight_.pop_front();
  if (!out.ok()) {
    // The runner failed this step (an error or a failed check inside it):
    // its requests fail, the engine and every other request go on.
    Status why = out.status().with_context("step " + std::to_string(step.step_id));
    PD_LOG(ERROR) << "engine step failed, failing its " << step.seqs.size()
                  << " requests: " << why.to_string();
    scheduler_.fail_step(step, why);
    return ok_status();
  }
  return scheduler_.update(step, *out);
}

Result<std::vector<RequestOutput>> Engine::step() {
  PD_RETURN_IF_ERROR(failed_);
  scheduler::ScheduledStep next = scheduler_.schedule();
  const bool submitted = !next.empty();
  if (submitted) submit(std::move(next));
  last_step_idle_ = !submitted && in_flight_.empty();
  // Sync: finish this step now. Async: keep one step running on the runner
  // thread while the next is scheduled, unless nothing new was submitted.
  while (!in_flight_.empty() &&
         (!config_.async_scheduling || in_flight_.size() > 1 || !submitted)) {
    Status s = update_oldest();
    if (!s.ok()) return fail(s);
  }
  // Going idle: tell the runner about the last finished sequences now.
  if (in_flight_.empty() && scheduler_.has_only_removals()) {
    submit(scheduler_.schedule());
    Status s = update_oldest();
    if (!s.ok()) return fail(s);
  }
  const bool idle = !scheduler_.has_work() && in_flight_.empty();
  if (config_.check_invariants_every_step || idle) {
    Status s = scheduler_.check_invariants();
    if (!s.ok()) return fail(s);
  }
  return scheduler_.take_outputs();
}

Result<std::vector<GenerateResult>> Engine::generate(std::vector<RequestSpec> requests) {
  std::vector<GenerateResult> results(requests.size());
  std::unordered_map<uint64_t, size_t> index;
  for (size_t i = 0; i < requests.size(); ++i) {
    results[i].request_id = requests[i].request_id;
    index[requests[i].request_id] = i;
  }
  size_t num_added = 0;
  size_t num_done = 0;
  auto abort_added = [&] {
    for (size_t i = 0; i < num_added; ++i) {
      if (results[i].finish_reason == FinishReason::kNone) (void)abort(requests[i].request_id);
    }
  };
  while (num_done < requests.size()) {
    while (num_added < requests.size()) {
      Status s = add_request(requests[num_added]);
      if (s.code() == StatusCode::kResourceExhausted && has_unfinished()) break;  // queue full
      if (!s.ok()) {
        abort_added();
        return s;
      }
      ++num_added;
    }
    PD_ASSIGN_OR_RETURN(std::vector<RequestOutput> outputs, step());
    for (const RequestOutput& out : outputs) {
      auto it = index.find(out.request_id);
      if (it == index.end()) continue;
      GenerateResult& r = results[it->second];
      for (const runner::SampledToken& t : out.new_tokens) {
        r.token_ids.push_back(t.token_id);
        r.logprobs.push_back(t.logprob);
      }
      r.num_cached_tokens = out.num_cached_tokens;
      if (out.finished) {
        r.finish_reason = out.finish_reason;
        r.stop_token_id = out.stop_token_id;
        r.block_ids = out.block_ids;
        ++num_done;
      }
    }
    if (outputs.empty() && last_step_idle_ && num_done < requests.size()) {
      scheduler::SchedulerStats s = stats();
      abort_added();
      return resource_exhausted("generate stalled: " + std::to_string(s.num_waiting) +
                                " waiting requests cannot get KV blocks (" +
                                std::to_string(s.num_pinned) + " pinned, " +
                                std::to_string(s.num_remote_kv) + " waiting for remote KV)");
    }
  }
  // Retire what the last (speculative) steps still hold, when nothing else runs.
  while (has_unfinished() && !scheduler_.has_requests()) PD_RETURN_IF_ERROR(step().status());
  return results;
}

}  // namespace pdserve::engine
