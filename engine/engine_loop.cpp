#include "engine/engine_loop.h"

#include <chrono>
#include <utility>

namespace pdserve::engine {
namespace {
// The loop whose thread this is (null on every other thread).
thread_local const EngineLoop* current_loop = nullptr;

Status stopped() {
  return failed_precondition("engine loop stopped");
}
}  // namespace

EngineLoop::EngineLoop(std::unique_ptr<Engine> engine, StepHook hook, OutputHook on_output)
    : engine_(std::move(engine)),
      hook_(std::move(hook)),
      on_output_(std::move(on_output)),
      thread_([this] { run(); }) {}

EngineLoop::~EngineLoop() {
  stop();
}

void EngineLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool EngineLoop::post(Job job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    commands_.push_back(std::move(job));
  }
  cv_.notify_all();
  return true;
}

bool EngineLoop::on_loop_thread() const {
  return current_loop == this;
}

EngineLoop::Command<Status> EngineLoop::add_request(RequestSpec spec, Sink sink) {
  return Command<Status>(
      *this,
      [this, spec = std::move(spec), sink = std::move(sink)](Engine& engine) mutable {
        const uint64_t id = spec.request_id;
        Status s = engine.add_request(std::move(spec));
        if (s.ok()) sinks_[id] = std::move(sink);
        return s;
      },
      stopped());
}

EngineLoop::Command<Result<RemotePrefillAllocation>> EngineLoop::allocate_for_remote_prefill(
    RequestSpec spec, Sink sink) {
  return Command<Result<RemotePrefillAllocation>>(
      *this,
      [this, spec = std::move(spec), sink = std::move(sink)](Engine& engine) mutable {
        const uint64_t id = spec.request_id;
        Result<RemotePrefillAllocation> a = engine.allocate_for_remote_prefill(std::move(spec));
        if (a.ok()) sinks_[id] = std::move(sink);
        return a;
      },
      stopped());
}

EngineLoop::Command<Status> EngineLoop::start_decode(uint64_t request_id,
                                                     runner::SampledToken first_token) {
  return Command<Status>(
      *this,
      [request_id, first_token = std::move(first_token)](Engine& engine) {
        return engine.start_decode(request_id, first_token);
      },
      stopped());
}

EngineLoop::Command<Status> EngineLoop::release(uint64_t request_id) {
  return Command<Status>(
      *this, [request_id](Engine& engine) { return engine.release(request_id); }, stopped());
}

EngineLoop::Command<Result<int>> EngineLoop::num_cached_prefix_tokens(RequestSpec spec) {
  return Command<Result<int>>(
      *this,
      [spec = std::move(spec)](Engine& engine) -> Result<int> {
        return engine.num_cached_prefix_tokens(spec);
      },
      stopped());
}

EngineLoop::Command<bool> EngineLoop::discard(uint64_t request_id) {
  return Command<bool>(
      *this,
      [this, request_id](Engine& engine) {
        if (!engine.request_state(request_id)) return false;
        sinks_.erase(request_id);
        (void)engine.abort(request_id);
        return true;
      },
      false);
}

void EngineLoop::abort(uint64_t request_id) {
  (void)post([this, request_id] {
    // A pinned request has no sink any more (it finished) but holds its blocks.
    if (engine_->request_state(request_id)) (void)engine_->abort(request_id);
  });
}

scheduler::SchedulerStats EngineLoop::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

size_t EngineLoop::num_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return num_requests_;
}

void EngineLoop::dispatch(std::vector<RequestOutput> outputs) {
  for (RequestOutput& out : outputs) {
    if (on_output_) on_output_(out);
    auto it = sinks_.find(out.request_id);
    if (it == sinks_.end()) continue;
    const uint64_t id = out.request_id;
    const bool finished = out.finished;
    // The sink may resume a coroutine whose commands change sinks_: erase
    // by key afterwards.
    it->second(std::move(out));
    if (finished) sinks_.erase(id);
  }
}

void EngineLoop::fail_all(const Status& status) {
  std::unordered_map<uint64_t, Sink> sinks;
  sinks.swap(sinks_);
  for (auto& [id, sink] : sinks) sink(status);
}

void EngineLoop::run() {
  current_loop = this;
  bool idle = true;  // stepping is useless until a command arrives
  for (;;) {
    std::deque<Job> commands;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Idle: wake at least once a second, so the hook (the heartbeat) runs.
      cv_.wait_for(lock, std::chrono::seconds(1),
                   [&] { return stopping_ || !commands_.empty() || !idle; });
      if (stopping_) break;
      commands.swap(commands_);
    }
    for (Job& c : commands) c();
    idle = true;
    if (engine_->has_unfinished()) {
      Result<std::vector<RequestOutput>> outs = engine_->step();
      if (!outs.ok()) {
        fail_all(outs.status());
      } else {
        idle = engine_->last_step_idle() && outs->empty();
        dispatch(std::move(outs).value());
      }
    }
    if (hook_) hook_(*engine_);
    std::lock_guard<std::mutex> lock(mu_);
    stats_ = engine_->stats();
    num_requests_ = sinks_.size();
  }
  // Commands queued before stop() still run; then every request ends.
  std::deque<Job> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(commands_);
  }
  for (Job& c : left) c();
  for (auto& [id, sink] : sinks_) (void)engine_->abort(id);
  fail_all(cancelled("engine stopping"));
}

}  // namespace pdserve::engine
