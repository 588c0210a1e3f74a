// What every worker process has, whatever its role: the model runner, the
// engine on its loop thread, the KV event log, the metrics and the routes
// every worker serves (/health, /metrics, /internal/v1/state,
// /internal/v1/requests/{id}).
//
//   auto rt = WorkerRuntime::create(config, std::move(runner), engine_config).value();
//   Routes routes;  rt->mount(routes);  ...role routes...;  Server::start(opts, routes);
//
// /metrics carries vLLM's spec-decode counters (vllm:spec_decode_*) when
// the engine speculates.
// /health is the engine loop's heartbeat: unhealthy when requests are pending
// and no step finished for config.stuck_after. /internal/v1/state needs the
// cluster token.
// Thread-safety: everything may be used from any thread after create().
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/base/request_timeline.h"
#include "common/base/status.h"
#include "common/server/health.h"
#include "common/server/metrics.h"
#include "common/server/routes.h"
#include "engine/engine_loop.h"
#include "engine/runner/llm_runner.h"
#include "worker/kv_event_log.h"
#include "worker/request_metrics.h"

namespace pdserve::worker {

struct WorkerConfig {
  std::string role;           // "prefill" or "decode"
  std::string model_name;     // the served model's name
  std::string cluster_token;  // required on /internal/*
  std::chrono::milliseconds stuck_after{30'000};
  // When set, the engine drives this runner, which wraps the model runner
  // (speculative decoding); it must not use the model runner when destroyed.
  std::shared_ptr<runner::ModelRunner> engine_runner;
  int64_t request_fault = 0;  // PDSERVE_REQUEST_FAULT (common/base/request_fault.h); 0: off
};

class WorkerRuntime {
 public:
  static Result<std::unique_ptr<WorkerRuntime>> create(WorkerConfig config,
                                                       std::unique_ptr<runner::LlmRunner> runner,
                                                       const engine::EngineConfig& engine_config);
  ~WorkerRuntime();  // stops the loop before the runner goes

  void mount(server::Routes& routes);

  const WorkerConfig& config() const { return config_; }
  engine::EngineLoop& loop() { return *loop_; }
  runner::LlmRunner& runner() { return *runner_; }
  server::MetricsRegistry& metrics() { return *metrics_; }
  std::shared_ptr<server::MetricsRegistry> metrics_ptr() { return metrics_; }
  // A new engine request id (unique in this process).
  uint64_t next_request_id() { return next_id_.fetch_add(1) + 1; }
  // This process's milestones of recent requests (GET
  // /internal/v1/requests/{id}, cluster token).
  RequestTimeline& timeline() { return timeline_; }
  // The state the router polls.
  server::internal::WorkerState state(uint64_t since) const;

 private:
  struct Gauges;
  struct SpecCounters;
  WorkerRuntime(WorkerConfig config, std::unique_ptr<runner::LlmRunner> runner);
  void add_spec_counters(int num_speculative_tokens);
  void on_step(engine::Engine& engine);

  WorkerConfig config_;
  std::unique_ptr<runner::LlmRunner> runner_;
  std::shared_ptr<server::MetricsRegistry> metrics_;
  std::unique_ptr<Gauges> gauges_;
  RequestMetrics request_metrics_;               // engine loop thread only
  std::unique_ptr<SpecCounters> spec_counters_;  // null: no speculation
  RequestTimeline timeline_;
  KvEventLog events_;
  server::Heartbeat heartbeat_;
  std::atomic<uint64_t> next_id_{0};
  std::unique_ptr<engine::EngineLoop> loop_;  // last: its thread uses the rest
};

}  // namespace pdserve::worker
