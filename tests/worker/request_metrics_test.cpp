#include "worker/request_metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace pdserve::worker {
namespace {

using std::chrono::milliseconds;
using Clock = RequestMetrics::Clock;

// The value of the series `name{labels}` in a rendered registry; -1 if absent.
double value(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const size_t at = text.find(key);
  return at == std::string::npos ? -1.0 : std::stod(text.substr(at + key.size()));
}

double finished(const std::string& text, const std::string& reason) {
  return value(
      text, "vllm:request_success_total{finished_reason=\"" + reason + "\",model_name=\"demo\"}");
}

// Each `name{model_name="demo"}` has its expected value.
void expect_demo(const std::string& text,
                 const std::vector<std::pair<std::string, double>>& expected) {
  for (const auto& [name, v] : expected) {
    EXPECT_NEAR(value(text, name + "{model_name=\"demo\"}"), v, 1e-9) << name << "\n" << text;
  }
}

scheduler::RequestOutput output(uint64_t id, int num_tokens, Clock::time_point arrival,
                                Clock::time_point scheduled) {
  scheduler::RequestOutput out;
  out.request_id = id;
  for (int i = 0; i < num_tokens; ++i) {
    runner::SampledToken t;
    t.token_id = 7 + i;
    out.new_tokens.push_back(t);
  }
  out.num_prompt_tokens = 5;
  out.times.arrival = arrival;
  out.times.scheduled = scheduled;
  return out;
}

TEST(RequestMetricsTest, OneRequestFillsEveryVllmSeries) {
  server::MetricsRegistry registry;
  RequestMetrics metrics(registry, "demo");
  const Clock::time_point t0 = Clock::now();
  const Clock::time_point scheduled = t0 + milliseconds(20);
  metrics.observe(output(1, 1, t0, scheduled), t0 + milliseconds(50));  // first token
  metrics.observe(output(1, 1, t0, scheduled), t0 + milliseconds(80));  // +30 ms
  scheduler::RequestOutput last = output(1, 2, t0, scheduled);          // two at once
  last.finished = true;
  last.finish_reason = scheduler::FinishReason::kLength;
  metrics.observe(last, t0 + milliseconds(120));  // 2 x 20 ms

  const std::string text = registry.render();
  EXPECT_NEAR(finished(text, "length"), 1, 1e-9) << text;
  EXPECT_NEAR(finished(text, "stop"), 0, 1e-9) << text;
  expect_demo(text, {{"vllm:prompt_tokens_total", 5},
                     {"vllm:generation_tokens_total", 4},
                     {"vllm:time_to_first_token_seconds_count", 1},
                     {"vllm:time_to_first_token_seconds_sum", 0.05},
                     {"vllm:inter_token_latency_seconds_count", 3},
                     {"vllm:inter_token_latency_seconds_sum", 0.07},
                     {"vllm:request_queue_time_seconds_sum", 0.02},
                     {"vllm:request_prefill_time_seconds_sum", 0.03},
                     {"vllm:request_decode_time_seconds_sum", 0.07},
                     {"vllm:request_inference_time_seconds_sum", 0.1},
                     {"vllm:e2e_request_latency_seconds_sum", 0.12},
                     {"vllm:request_generation_tokens_sum", 4},
                     {"vllm:request_prompt_tokens_sum", 5}});
}

TEST(RequestMetricsTest, AbortBeforeAnyTokenCountsNoTokenTimes) {
  server::MetricsRegistry registry;
  RequestMetrics metrics(registry, "demo");
  const Clock::time_point t0 = Clock::now();
  scheduler::RequestOutput out = output(2, 0, t0, t0);
  out.times.scheduled.reset();  // aborted while waiting
  out.finished = true;
  out.finish_reason = scheduler::FinishReason::kAbort;
  metrics.observe(out, t0 + milliseconds(10));

  const std::string text = registry.render();
  EXPECT_NEAR(finished(text, "abort"), 1, 1e-9) << text;
  expect_demo(text, {{"vllm:time_to_first_token_seconds_count", 0},
                     {"vllm:request_queue_time_seconds_count", 0},
                     {"vllm:request_decode_time_seconds_count", 0},
                     {"vllm:e2e_request_latency_seconds_count", 1},
                     {"vllm:prompt_tokens_total", 0}});
}

TEST(RequestMetricsTest, RequestsAreTrackedApart) {
  server::MetricsRegistry registry;
  RequestMetrics metrics(registry, "demo");
  const Clock::time_point t0 = Clock::now();
  metrics.observe(output(1, 1, t0, t0), t0 + milliseconds(10));
  metrics.observe(output(2, 1, t0, t0), t0 + milliseconds(30));
  scheduler::RequestOutput done = output(1, 1, t0, t0);
  done.finished = true;
  done.finish_reason = scheduler::FinishReason::kStop;
  metrics.observe(done, t0 + milliseconds(50));  // request 1: 40 ms after its first token

  const std::string text = registry.render();
  expect_demo(text, {{"vllm:time_to_first_token_seconds_count", 2},
                     {"vllm:inter_token_latency_seconds_sum", 0.04},
                     {"vllm:prompt_tokens_total", 10}});
}

}  // namespace
}  // namespace pdserve::worker
