// The per-request metrics of a worker, under vLLM's names and labels so that
// existing dashboards and the Gateway API Inference Extension read them
// unchanged (see deploy/README.md for the mapping):
//
//   vllm:prompt_tokens_total, vllm:generation_tokens_total,
//   vllm:request_success_total{finished_reason="stop|length|abort"},
//   vllm:time_to_first_token_seconds, vllm:inter_token_latency_seconds,
//   vllm:e2e_request_latency_seconds, vllm:request_queue_time_seconds,
//   vllm:request_prefill_time_seconds, vllm:request_decode_time_seconds,
//   vllm:request_inference_time_seconds, vllm:request_prompt_tokens,
//   vllm:request_generation_tokens                      (all with model_name)
//
//   RequestMetrics m(registry, "demo");
//   EngineLoop loop(engine, hook, [&m](const RequestOutput& o) { m.observe(o); });
//
// Times are measured from the engine's RequestTimes: arrival (the request
// reached the engine), scheduled (first scheduled; for a remote-KV request,
// its blocks allocated), first token, each later output, the last one. On a
// decode worker with remote prefill, "prefill time" is thus the prefill
// worker's prefill plus the KV transfer.
// Thread-safety: observe() from one thread at a time (the engine loop's).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "common/server/metrics.h"
#include "engine/scheduler/scheduler.h"

namespace pdserve::worker {

class RequestMetrics {
 public:
  using Clock = std::chrono::steady_clock;

  RequestMetrics(server::MetricsRegistry& registry, const std::string& model_name);

  // One engine output; `now` is when it was produced.
  void observe(const scheduler::RequestOutput& output, Clock::time_point now = Clock::now());

 private:
  struct Live {
    Clock::time_point first_token;
    Clock::time_point last_token;
    int64_t num_generated = 0;
  };
  void finish(const scheduler::RequestOutput& output, const Live* live, Clock::time_point now);

  server::Counter prompt_tokens_, generation_tokens_;
  server::Counter success_stop_, success_length_, success_abort_, success_error_;
  server::Histogram ttft_, itl_, e2e_, queue_, prefill_, decode_, inference_;
  server::Histogram request_prompt_tokens_, request_generation_tokens_;
  std::unordered_map<uint64_t, Live> live_;  // requests that produced a token
};

}  // namespace pdserve::worker
