#include "worker/request_metrics.h"

#include <vector>

namespace pdserve::worker {
namespace {

// vLLM's buckets (vllm/v1/metrics/loggers.py), so that quantiles match.
const std::vector<double> kTtftBuckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                          0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0,
                                          20.0,  40.0,  80.0, 160., 640., 2560.};
const std::vector<double> kItlBuckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                         0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
const std::vector<double> kRequestBuckets = {0.3,  0.5,  0.8,  1.0,  1.5,  2.0,   2.5,
                                             5.0,  10.0, 15.0, 20.0, 30.0, 40.0,  50.0,
                                             60.0, 120., 240., 480., 960., 1920., 7680.};
const std::vector<double> kTokenBuckets = {1,   2,    5,    10,   20,    50,    100,   200,
                                           500, 1000, 2000, 5000, 10000, 20000, 50000, 100000};

double seconds(RequestMetrics::Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

RequestMetrics::RequestMetrics(server::MetricsRegistry& m, const std::string& model_name) {
  const server::MetricLabels model{{"model_name", model_name}};
  prompt_tokens_ =
      m.counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", model);
  generation_tokens_ =
      m.counter("vllm:generation_tokens_total", "Number of generation tokens processed.", model);
  const char* success_help = "Count of successfully processed requests.";
  auto success = [&](const char* reason) {
    return m.counter("vllm:request_success_total", success_help,
                     {{"model_name", model_name}, {"finished_reason", reason}});
  };
  success_stop_ = success("stop");
  success_length_ = success("length");
  success_abort_ = success("abort");
  success_error_ = success("error");
  ttft_ = m.histogram("vllm:time_to_first_token_seconds",
                      "Histogram of time to first token in seconds.", kTtftBuckets, model);
  itl_ = m.histogram("vllm:inter_token_latency_seconds",
                     "Histogram of inter-token latency in seconds.", kItlBuckets, model);
  e2e_ = m.histogram("vllm:e2e_request_latency_seconds",
                     "Histogram of e2e request latency in seconds.", kRequestBuckets, model);
  auto phase = [&](const std::string& name, const std::string& phase_name) {
    return m.histogram("vllm:request_" + name + "_time_seconds",
                       "Histogram of time spent in " + phase_name + " phase for request.",
                       kRequestBuckets, model);
  };
  queue_ = phase("queue", "WAITING");
  prefill_ = phase("prefill", "PREFILL");
  decode_ = phase("decode", "DECODE");
  inference_ = phase("inference", "RUNNING");
  request_prompt_tokens_ = m.histogram("vllm:request_prompt_tokens",
                                       "Number of prefill tokens processed.", kTokenBuckets, model);
  request_generation_tokens_ =
      m.histogram("vllm:request_generation_tokens", "Number of generation tokens processed.",
                  kTokenBuckets, model);
}

void RequestMetrics::observe(const scheduler::RequestOutput& out, Clock::time_point now) {
  auto it = live_.find(out.request_id);
  if (!out.new_tokens.empty()) {
    const auto n = static_cast<int64_t>(out.new_tokens.size());
    generation_tokens_.inc(static_cast<double>(n));
    if (it == live_.end()) {
      it = live_.emplace(out.request_id, Live{now, now, 0}).first;
      prompt_tokens_.inc(out.num_prompt_tokens);
      ttft_.observe(seconds(now - out.times.arrival));
      if (out.times.scheduled) {
        queue_.observe(seconds(*out.times.scheduled - out.times.arrival));
        prefill_.observe(seconds(now - *out.times.scheduled));
      }
    } else {
      // Several tokens at once (speculation): the interval is shared.
      const double gap = seconds(now - it->second.last_token) / static_cast<double>(n);
      for (int64_t i = 0; i < n; ++i) itl_.observe(gap);
    }
    it->second.last_token = now;
    it->second.num_generated += n;
  }
  if (!out.finished) return;
  finish(out, it == live_.end() ? nullptr : &it->second, now);
  if (it != live_.end()) live_.erase(it);
}

void RequestMetrics::finish(const scheduler::RequestOutput& out, const Live* live,
                            Clock::time_point now) {
  switch (out.finish_reason) {
    case scheduler::FinishReason::kStop: success_stop_.inc(); break;
    case scheduler::FinishReason::kLength: success_length_.inc(); break;
    case scheduler::FinishReason::kAbort: success_abort_.inc(); break;
    case scheduler::FinishReason::kError: success_error_.inc(); break;
    case scheduler::FinishReason::kNone: break;
  }
  e2e_.observe(seconds(now - out.times.arrival));
  request_prompt_tokens_.observe(out.num_prompt_tokens);
  request_generation_tokens_.observe(live ? static_cast<double>(live->num_generated) : 0.0);
  if (live) decode_.observe(seconds(now - live->first_token));
  if (out.times.scheduled) inference_.observe(seconds(now - *out.times.scheduled));
}

}  // namespace pdserve::worker
