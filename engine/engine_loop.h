// The engine on a thread of its own, for the workers: requests come from any
// thread (HTTP handlers), the loop steps the Engine while there is work and
// hands every request's outputs to the sink given with it.
//
//   EngineLoop loop(std::move(engine));
//   loop.add_request(spec, [sse](Result<RequestOutput> out) { ... });   // loop thread
//   loop.abort(id);                                                     // any thread
//
//   caller thread          loop thread
//   add_request ──queue──▶ run commands ─▶ step() ─▶ sinks ─▶ step hook ─┐
//        ◀─── status ────┘      ▲                                          │
//                               └──────── wait for a command when idle ◀──┘
//
// A sink is called on the loop thread, once per output, and must not block:
// every output of its request, the last one with finished set; or one error
// Result (the engine died or is stopping), after which it is never called
// again. A request the engine refused (add_request's status) never reaches
// its sink.
//
// Commands (add, allocate, start_decode, release) wait for the loop to take
// them, which happens between steps: at most one step's time. abort() does
// not wait. The step hook runs on the loop thread after every step, and at
// least once a second while idle: the worker's heartbeat, gauges and KV events.
//
// Thread-safety: every public method may be called from any thread except
// the loop thread itself (a sink or the hook), where only abort() is allowed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
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

  explicit EngineLoop(std::unique_ptr<Engine> engine, StepHook hook = nullptr,
                      OutputHook on_output = nullptr);
  ~EngineLoop();  // stop()
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;

  // Engine::add_request, with the sink of its outputs.
  Status add_request(RequestSpec spec, Sink sink);
  // Engine::allocate_for_remote_prefill; the sink gets the outputs once
  // start_decode() was called (or the final abort).
  Result<RemotePrefillAllocation> allocate_for_remote_prefill(RequestSpec spec, Sink sink);
  Status start_decode(uint64_t request_id, runner::SampledToken first_token);
  Status release(uint64_t request_id);
  // Runs fn(&engine) on the loop thread between steps, without waiting; for
  // admission logic that must see the engine and act in one go. fn may call
  // attach_sink(). When the loop has stopped, fn(nullptr) runs at once on
  // the caller's thread.
  void run_async(std::function<void(Engine*)> fn);
  // Loop thread only (inside run_async): the sink of a request fn added.
  void attach_sink(uint64_t request_id, Sink sink) { sinks_[request_id] = std::move(sink); }
  // Loop thread only: forgets a request's sink (its later outputs are dropped).
  void detach_sink(uint64_t request_id) { sinks_.erase(request_id); }

  // Aborts a live request (its sink gets the final "abort" output); a
  // request already gone is ignored. Does not wait.
  void abort(uint64_t request_id);

  // Snapshot as of the last step.
  scheduler::SchedulerStats stats() const;
  // Live requests (those with a sink).
  size_t num_requests() const;

  // Aborts every request (sinks get kCancelled), stops and joins the loop.
  // Later commands return kFailedPrecondition. Idempotent.
  void stop();

 private:
  using Command = std::function<void()>;
  // Runs fn on the loop thread and waits for its result.
  template <typename T>
  T call(std::function<T()> fn);
  void post(Command command);
  void run();
  void dispatch(std::vector<RequestOutput> outputs);
  void fail_all(const Status& status);

  std::unique_ptr<Engine> engine_;
  StepHook hook_;
  OutputHook on_output_;
  std::unordered_map<uint64_t, Sink> sinks_;  // loop thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Command> commands_;
  bool stopping_ = false;
  scheduler::SchedulerStats stats_;
  size_t num_requests_ = 0;
  std::thread thread_;  // last: started when everything above exists
};

}  // namespace pdserve::engine
