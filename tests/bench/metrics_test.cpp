// vLLM's metric definitions on hand-worked examples.
#include "bench/metrics.h"

#include <gtest/gtest.h>

namespace pdserve::bench {
namespace {

TEST(PercentileTest, InterpolatesLinearlyAsNumpy) {
  // numpy.percentile([1, 2, 3, 4], q): rank q/100 * 3.
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 90), 3.7);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 99), 3.97);
  EXPECT_DOUBLE_EQ(percentile({15, 20, 35, 40, 50}, 90), 46.0);
  EXPECT_DOUBLE_EQ(percentile({15, 20, 35, 40, 50}, 40), 29.0);
  EXPECT_DOUBLE_EQ(percentile({7}, 99), 7.0);
  EXPECT_DOUBLE_EQ(percentile({1, 2}, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile({1, 2}, 100), 2.0);
  EXPECT_DOUBLE_EQ(percentile({}, 50), 0.0);
}

TEST(SummarizeTest, MeanMedianStdAsNumpy) {
  const Distribution d = summarize({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_EQ(d.count, 8u);
  EXPECT_DOUBLE_EQ(d.mean, 5.0);
  EXPECT_DOUBLE_EQ(d.std, 2.0);  // population std
  EXPECT_DOUBLE_EQ(d.median, 4.5);
  EXPECT_DOUBLE_EQ(d.p90, 7.6);   // rank 6.3: 7 + 0.3 * 2
  EXPECT_DOUBLE_EQ(d.p99, 8.86);  // rank 6.93
  EXPECT_DOUBLE_EQ(d.min, 2.0);
  EXPECT_DOUBLE_EQ(d.max, 9.0);
  EXPECT_EQ(summarize({}).count, 0u);
}

RequestRecord ok(int input, int output, double ttft, double e2e, std::vector<double> itl) {
  RequestRecord r;
  r.success = true;
  r.input_len = input;
  r.output_len = output;
  r.ttft_s = ttft;
  r.e2e_s = e2e;
  r.itl_s = std::move(itl);
  return r;
}

// A: 5 tokens, TPOT (0.5-0.1)/4 = 0.1; B: 1 token (no TPOT); C: 3 tokens,
// TPOT (0.7-0.3)/2 = 0.2; D failed.
std::vector<RequestRecord> records() {
  RequestRecord d;
  d.id = 3;
  d.input_len = 1000;
  d.output_len = 1000;
  d.ttft_s = 9;
  d.e2e_s = 9;
  d.error = "HTTP 500";
  return {ok(10, 5, 0.1, 0.5, {0.1, 0.1, 0.1, 0.1}), ok(20, 1, 0.2, 0.2, {}),
          ok(30, 3, 0.3, 0.7, {0.2, 0.2}), d};
}

TEST(ComputeMetricsTest, TpotExcludesOneTokenRequests) {
  const BenchMetrics m = compute_metrics(records(), 2.0, {});
  EXPECT_EQ(m.tpot_s.count, 2u);
  EXPECT_DOUBLE_EQ(m.tpot_s.mean, 0.15);
  EXPECT_DOUBLE_EQ(m.tpot_s.median, 0.15);
  EXPECT_DOUBLE_EQ(tpot_of(records()[1]), 0.0);
}

TEST(ComputeMetricsTest, ItlIsPooledOverRequests) {
  const BenchMetrics m = compute_metrics(records(), 2.0, {});
  EXPECT_EQ(m.itl_s.count, 6u);
  EXPECT_NEAR(m.itl_s.mean, 0.8 / 6, 1e-12);
  EXPECT_DOUBLE_EQ(m.itl_s.median, 0.1);
  EXPECT_NEAR(m.itl_s.p90, 0.2, 1e-12);  // rank 4.5 between 0.2 and 0.2
}

TEST(ComputeMetricsTest, TtftE2eAndCountsCoverOnlySuccesses) {
  const BenchMetrics m = compute_metrics(records(), 2.0, {});
  EXPECT_EQ(m.num_requests, 4);
  EXPECT_EQ(m.completed, 3);
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.ttft_s.count, 3u);
  EXPECT_NEAR(m.ttft_s.mean, 0.2, 1e-12);
  EXPECT_NEAR(m.e2e_s.median, 0.5, 1e-12);
  EXPECT_NEAR(m.e2e_s.max, 0.7, 1e-12);
  EXPECT_FALSE(m.goodput.has_value());
}

TEST(ComputeMetricsTest, ThroughputIsTotalsOverDuration) {
  const BenchMetrics m = compute_metrics(records(), 2.0, {});
  EXPECT_EQ(m.total_input_tokens, 60);
  EXPECT_EQ(m.total_output_tokens, 9);
  EXPECT_DOUBLE_EQ(m.duration_s, 2.0);
  EXPECT_DOUBLE_EQ(m.request_throughput, 1.5);
  EXPECT_DOUBLE_EQ(m.output_throughput, 4.5);
  EXPECT_DOUBLE_EQ(m.total_token_throughput, 34.5);
}

TEST(ComputeMetricsTest, GoodputWithEachSloKind) {
  Slo ttft;
  ttft.ttft_s = 0.15;  // A only
  EXPECT_EQ(*compute_metrics(records(), 2.0, ttft).good_requests, 1);
  EXPECT_DOUBLE_EQ(*compute_metrics(records(), 2.0, ttft).goodput, 0.5);
  Slo tpot;
  tpot.tpot_s = 0.15;  // A and B (one token: TPOT 0), not C
  EXPECT_EQ(*compute_metrics(records(), 2.0, tpot).good_requests, 2);
  Slo e2e;
  e2e.e2e_s = 0.6;  // A and B
  EXPECT_EQ(*compute_metrics(records(), 2.0, e2e).good_requests, 2);
  Slo all;
  all.ttft_s = 0.25;
  all.tpot_s = 0.15;
  all.e2e_s = 0.6;  // A and B meet all three; C misses each
  const BenchMetrics m = compute_metrics(records(), 4.0, all);
  EXPECT_EQ(*m.good_requests, 2);
  EXPECT_DOUBLE_EQ(*m.goodput, 0.5);
  Slo none_meets;
  none_meets.ttft_s = 0.01;
  EXPECT_EQ(*compute_metrics(records(), 2.0, none_meets).good_requests, 0);
}

TEST(ComputeMetricsTest, NoSuccessGivesZeros) {
  const BenchMetrics m = compute_metrics({records()[3]}, 1.0, {});
  EXPECT_EQ(m.completed, 0);
  EXPECT_EQ(m.failed, 1);
  EXPECT_EQ(m.total_output_tokens, 0);
  EXPECT_DOUBLE_EQ(m.request_throughput, 0.0);
  EXPECT_EQ(m.ttft_s.count, 0u);
}

}  // namespace
}  // namespace pdserve::bench
