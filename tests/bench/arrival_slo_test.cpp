// Poisson arrivals and the --slo syntax.
#include <gtest/gtest.h>

#include <cmath>

#include "bench/arrival.h"
#include "bench/slo.h"

namespace pdserve::bench {
namespace {

TEST(ArrivalTest, SeededAndMonotoneFromZero) {
  const auto a = arrival_offsets(100, 4.0, 7);
  EXPECT_EQ(a, arrival_offsets(100, 4.0, 7));
  EXPECT_NE(a, arrival_offsets(100, 4.0, 8));
  ASSERT_EQ(a.size(), 100u);
  EXPECT_EQ(a[0], 0.0);
  for (size_t i = 1; i < a.size(); ++i) EXPECT_GE(a[i], a[i - 1]);
}

TEST(ArrivalTest, MeanGapIsOneOverRate) {
  for (double rate : {0.5, 4.0, 100.0}) {
    const size_t n = 40001;
    const auto a = arrival_offsets(n, rate, 1);
    const double mean_gap = a.back() / static_cast<double>(n - 1);
    EXPECT_NEAR(mean_gap * rate, 1.0, 0.02) << rate;
    // Exponential gaps: standard deviation equals the mean.
    double sq = 0;
    for (size_t i = 1; i < n; ++i) sq += std::pow(a[i] - a[i - 1] - mean_gap, 2);
    EXPECT_NEAR(std::sqrt(sq / static_cast<double>(n - 1)) * rate, 1.0, 0.03) << rate;
  }
}

TEST(ArrivalTest, BurstinessKeepsTheMean) {
  const auto a = arrival_offsets(40001, 2.0, 3, 0.5);
  EXPECT_NEAR(a.back() / 40000 * 2.0, 1.0, 0.03);
}

TEST(ArrivalTest, InfiniteRateSendsAllAtOnce) {
  for (double v : arrival_offsets(50, INFINITY, 1)) EXPECT_EQ(v, 0.0);
  for (double v : arrival_offsets(5, 0.0, 1)) EXPECT_EQ(v, 0.0);
  EXPECT_TRUE(arrival_offsets(0, 1.0, 1).empty());
}

TEST(SloTest, ParsesEachKindAndUnit) {
  auto s = parse_slo("ttft=200ms,tpot=25ms,e2e=2s");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_DOUBLE_EQ(*s->ttft_s, 0.2);
  EXPECT_DOUBLE_EQ(*s->tpot_s, 0.025);
  EXPECT_DOUBLE_EQ(*s->e2e_s, 2.0);
  auto plain = parse_slo("tpot=50");  // ms, as vLLM's --goodput
  ASSERT_TRUE(plain.ok());
  EXPECT_DOUBLE_EQ(*plain->tpot_s, 0.05);
  EXPECT_FALSE(plain->ttft_s.has_value());
  EXPECT_DOUBLE_EQ(*parse_slo("ttft=500us")->ttft_s, 0.0005);
  EXPECT_TRUE(parse_slo("")->empty());
}

TEST(SloTest, ErrorsNameTheItem) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"ttft", "--slo: 'ttft': expected key=value"},
      {"foo=1ms", "--slo: 'foo=1ms': unknown key 'foo'"},
      {"ttft=abc", "--slo: 'ttft=abc': the value must be a positive duration"},
      {"ttft=-5ms", "positive duration"},
      {"ttft=200ms,", "expected key=value"},
  };
  for (const Case& c : cases) {
    auto s = parse_slo(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.status().message().find(c.message), std::string::npos) << s.status().message();
  }
}

}  // namespace
}  // namespace pdserve::bench
