#include "engine/engine_loop.h"

#include <chrono>
#include <future>
#include <utility>

namespace pdserve::engine {

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

void EngineLoop::post(Command command) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    commands_.push_back(std::move(command));
  }
  cv_.notify_all();
}

template <typename T>
T EngineLoop::call(std::function<T()> fn) {
  auto done = std::make_shared<std::promise<T>>();
  std::future<T> result = done->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return failed_precondition("engine loop stopped");
    commands_.push_back([fn = std::move(fn), done] { done->set_value(fn()); });
  }
  cv_.notify_all();
  return result.get();
}

Status EngineLoop::add_request(RequestSpec spec, Sink sink) {
  return call<Status>([this, spec = std::move(spec), sink = std::move(sink)]() mutable {
    const uint64_t id = spec.request_id;
    Status s = engine_->add_request(std::move(spec));
    if (s.ok()) sinks_[id] = std::move(sink);
    return s;
  });
}

Result<RemotePrefillAllocation> EngineLoop::allocate_for_remote_prefill(RequestSpec spec,
                                                                        Sink sink) {
  return call<Result<RemotePrefillAllocation>>(
      [this, spec = std::move(spec), sink = std::move(sink)]() mutable {
        const uint64_t id = spec.request_id;
        Result<RemotePrefillAllocation> a = engine_->allocate_for_remote_prefill(std::move(spec));
        if (a.ok()) sinks_[id] = std::move(sink);
        return a;
      });
}

Status EngineLoop::start_decode(uint64_t request_id, runner::SampledToken first_token) {
  return call<Status>([this, request_id, first_token = std::move(first_token)] {
    return engine_->start_decode(request_id, first_token);
  });
}

Status EngineLoop::release(uint64_t request_id) {
  return call<Status>([this, request_id] { return engine_->release(request_id); });
}

void EngineLoop::run_async(std::function<void(Engine*)> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      commands_.push_back([this, fn] { fn(engine_.get()); });
      cv_.notify_all();
      return;
    }
  }
  fn(nullptr);
}

void EngineLoop::abort(uint64_t request_id) {
  post([this, request_id] {
    if (sinks_.count(request_id)) (void)engine_->abort(request_id);
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
    const bool finished = out.finished;
    it->second(std::move(out));
    if (finished) sinks_.erase(it);
  }
}

void EngineLoop::fail_all(const Status& status) {
  std::unordered_map<uint64_t, Sink> sinks;
  sinks.swap(sinks_);
  for (auto& [id, sink] : sinks) sink(status);
}

void EngineLoop::run() {
  bool idle = true;  // stepping is useless until a command arrives
  for (;;) {
    std::deque<Command> commands;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Idle: wake at least once a second, so the hook (the heartbeat) runs.
      cv_.wait_for(lock, std::chrono::seconds(1),
                   [&] { return stopping_ || !commands_.empty() || !idle; });
      if (stopping_) break;
      commands.swap(commands_);
    }
    for (Command& c : commands) c();
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
  std::deque<Command> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(commands_);
  }
  for (Command& c : left) c();
  for (auto& [id, sink] : sinks_) (void)engine_->abort(id);
  fail_all(cancelled("engine stopping"));
}

}  // namespace pdserve::engine
