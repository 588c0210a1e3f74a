// The engine on a thread of its own, for the workers: requests come from any
// thread (HTTP handlers, coroutines serving them), the loop steps the Engine
// while there is work and hands every request's outputs to the sink given
// with it.
//
//   EngineLoop loop(std::move(engine));
//   Status added = co_await loop.add_request(spec, sink);   // sink: on the loop thread
//   loop.abort(id);                                         // any thread, no wait
//
//   caller thread             loop thread
//   co_await command ──queue──▶ run commands ─▶ step() ─▶ sinks ─▶ step hook ─┐
//        ◀─ resumed, result ──┘      ▲                                         │
//                                    └──────── wait for a command when idle ◀──┘
//
// The commands are the one way into the loop: each is awaited, runs on the
// loop thread between steps (at most one step's time later) and resumes the
// awaiting coroutine there, with its result; a coroutine running on the
// loop thread (resumed by a command or a sink) keeps it between awaits, so
// a command it awaits runs at once: admission sees the engine and acts on it
// in one go. Code between two awaits on the loop thread must not block.
// When the loop has stopped, a command resumes the caller at once with
// kFailedPrecondition (discard: false). abort() does not wait.
//
// A sink is called on the loop thread, once per output, and must not block:
// every output of its request, the last one with finished set; or one error
// Result (the engine died or is stopping), after which it is never called
// again. A request the engine refused (add_request's status) never reaches
// its sink. The step hook runs on the loop thread after every step, and at
// least once a second while idle: the worker's heartbeat, gauges and KV events.
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/base/status.h"
#include "engine/engine.h"

namespace pdserve::engine {

class EngineLoop {
 public:
  using Sink = std::function<void(Result<RequestOutput>)>;
  // After every step and when going idle; `engine` may be read, not stepped.
  using StepHook = std::function<void(Engine& engine)>;
  // Sees every output of every request before its sink does (loop thread;
  // must not block): the worker's per-request metrics.
  using OutputHook = std::function<void(const RequestOutput& output)>;

  // One command, to co_await: runs on the loop thread (at once when awaited
  // there) and resumes the awaiting coroutine there with its result.
  template <typename T>
  class [[nodiscard]] Command {
   public:
    bool await_ready() {
      if (!loop_.on_loop_thread()) return false;
      result_.emplace(fn_(*loop_.engine_));
      return true;
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
      // The loop thread may resume the coroutine before this returns:
      // nothing here touches the command after a successful post.
      if (loop_.post([this, awaiting] {
            result_.emplace(fn_(*loop_.engine_));
            awaiting.resume();
          })) {
        return true;
      }
      result_.emplace(std::move(if_stopped_));
      return false;
    }
    T await_resume() { return std::move(*result_); }

   private:
    friend class EngineLoop;
    Command(EngineLoop& loop, std::function<T(Engine&)> fn, T if_stopped)
        : loop_(loop), fn_(std::move(fn)), if_stopped_(std::move(if_stopped)) {}
    EngineLoop& loop_;
    std::function<T(Engine&)> fn_;
    T if_stopped_;
    std::optional<T> result_;
  };

  explicit EngineLoop(std::unique_ptr<Engine> engine, StepHook hook = nullptr,
                      OutputHook on_output = nullptr);
  ~EngineLoop();  // stop()
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;

  // Engine::add_request, with the sink of its outputs.
  Command<Status> add_request(RequestSpec spec, Sink sink);
  // Engine::allocate_for_remote_prefill; the sink gets the outputs once
  // start_decode() was called (or the final abort).
  Command<Result<RemotePrefillAllocation>> allocate_for_remote_prefill(RequestSpec spec, Sink sink);
  Command<Status> start_decode(uint64_t request_id, runner::SampledToken first_token);
  Command<Status> release(uint64_t request_id);
  // Engine::num_cached_prefix_tokens.
  Command<Result<int>> num_cached_prefix_tokens(RequestSpec spec);
  // Ends a live request without telling its sink (which is forgotten): true
  // when it was live, false when it had ended already (its sink heard why).
  Command<bool> discard(uint64_t request_id);

  // Aborts a request the engine still holds: a live one (its sink gets the
  // final "abort" output) or a pinned one (its blocks are released, as by
  // release()); a request already gone is ignored. Does not wait.
  void abort(uint64_t request_id);

  // Snapshot as of the last step.
  scheduler::SchedulerStats stats() const;
  // Live requests (those with a sink).
  size_t num_requests() const;

  // Aborts every request (sinks get kCancelled), stops and joins the loop.
  // Later commands return kFailedPrecondition. Idempotent.
  void stop();

 private:
  using Job = std::function<void()>;
  bool on_loop_thread() const;
  // Queues a job for the loop thread; false when the loop has stopped.
  bool post(Job job);
  void run();
  void dispatch(std::vector<RequestOutput> outputs);
  void fail_all(const Status& status);

  std::unique_ptr<Engine> engine_;
  StepHook hook_;
  OutputHook on_output_;
  std::unordered_map<uint64_t, Sink> sinks_;  // loop thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> commands_;
  bool stopping_ = false;
  scheduler::SchedulerStats stats_;
  size_t num_requests_ = 0;
  std::thread thread_;  // last: started when everything above exists
};

}  // namespace pdserve::engine
