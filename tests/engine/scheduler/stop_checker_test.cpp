#include "engine/scheduler/stop_checker.h"

#include <gtest/gtest.h>

namespace pdserve::scheduler {
namespace {

Request with_outputs(std::vector<int32_t> outputs, runner::SamplingParams p, int prompt_len = 3) {
  RequestSpec spec;
  spec.prompt_ids.assign(prompt_len, 1);
  spec.sampling = p;
  Request r(spec, 0);
  r.output_ids = std::move(outputs);
  return r;
}

const std::vector<int32_t> kEos = {2};

TEST(StopCheckerTest, EosStopsUnlessIgnored) {
  runner::SamplingParams p;
  EXPECT_EQ(check_stop(with_outputs({5, 2}, p), kEos, 100).reason, FinishReason::kStop);
  EXPECT_EQ(check_stop(with_outputs({5, 2}, p), kEos, 100).stop_token_id, 2);
  p.ignore_eos = true;
  EXPECT_EQ(check_stop(with_outputs({5, 2}, p), kEos, 100).reason, FinishReason::kNone);
}

TEST(StopCheckerTest, StopTokenIdsStopEvenWithIgnoreEos) {
  runner::SamplingParams p;
  p.ignore_eos = true;
  p.stop_token_ids = {7};
  EXPECT_EQ(check_stop(with_outputs({7}, p), kEos, 100).reason, FinishReason::kStop);
}

TEST(StopCheckerTest, MinTokensHoldsStopsBack) {
  runner::SamplingParams p;
  p.min_tokens = 3;
  EXPECT_EQ(check_stop(with_outputs({5, 2}, p), kEos, 100).reason, FinishReason::kNone);
  EXPECT_EQ(check_stop(with_outputs({5, 6, 2}, p), kEos, 100).reason, FinishReason::kStop);
}

TEST(StopCheckerTest, LengthFromMaxTokensOrMaxModelLen) {
  runner::SamplingParams p;
  p.max_tokens = 2;
  EXPECT_EQ(check_stop(with_outputs({5}, p), kEos, 100).reason, FinishReason::kNone);
  EXPECT_EQ(check_stop(with_outputs({5, 6}, p), kEos, 100).reason, FinishReason::kLength);
  p.max_tokens = 50;
  EXPECT_EQ(check_stop(with_outputs({5, 6}, p), kEos, 5).reason, FinishReason::kLength);
  // A stop token at the limit is a stop.
  EXPECT_EQ(check_stop(with_outputs({5, 2}, p), kEos, 5).reason, FinishReason::kStop);
}

}  // namespace
}  // namespace pdserve::scheduler
