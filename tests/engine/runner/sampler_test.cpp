#include "engine/runner/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

namespace pdserve::runner {
namespace {

struct Case {
  SamplingParams params;
  std::vector<int32_t> prompt, output, eos{0};
  uint64_t seed = 7;
  SampledToken run(std::vector<float> logits) const {
    SamplingContext ctx{&params, prompt, output, eos, seed};
    return sample_token(logits, ctx);
  }
};

TEST(SamplerTest, GreedyTakesTheArgmaxAndReportsRawLogprobs) {
  Case c;
  c.params.temperature = 0.0f;
  c.params.num_logprobs = 2;
  SampledToken t = c.run({1.0f, 3.0f, 2.0f, -1.0f});
  EXPECT_EQ(t.token_id, 1);
  const double lse = std::log(std::exp(1.0) + std::exp(3.0) + std::exp(2.0) + std::exp(-1.0));
  EXPECT_NEAR(t.logprob, 3.0 - lse, 1e-6);
  ASSERT_EQ(t.top.size(), 2u);
  EXPECT_EQ(t.top[0].token_id, 1);
  EXPECT_EQ(t.top[1].token_id, 2);
  EXPECT_NEAR(t.top[1].logprob, 2.0 - lse, 1e-6);
}

TEST(SamplerTest, PenaltiesFollowHuggingFaceAndOpenAI) {
  Case c;
  c.params.temperature = 0.0f;
  c.params.repetition_penalty = 2.0f;
  c.prompt = {1};
  // token 1: 3.0 / 2 = 1.5 < token 2's 2.0
  EXPECT_EQ(c.run({0.0f, 3.0f, 2.0f}).token_id, 2);
  Case neg;
  neg.params.temperature = 0.0f;
  neg.params.repetition_penalty = 2.0f;
  neg.output = {2};
  // token 2: -1 * 2 = -2 < token 0's -1.5
  EXPECT_EQ(neg.run({-1.5f, -3.0f, -1.0f}).token_id, 0);
  Case freq;
  freq.params.temperature = 0.0f;
  freq.params.frequency_penalty = 0.5f;
  freq.params.presence_penalty = 0.2f;
  freq.output = {1, 1};
  // token 1: 3.0 - 2 * 0.5 - 0.2 = 1.8 < 2.0
  EXPECT_EQ(freq.run({0.0f, 3.0f, 2.0f}).token_id, 2);
  freq.output = {1};
  // token 1: 3.0 - 0.5 - 0.2 = 2.3 > 2.0
  EXPECT_EQ(freq.run({0.0f, 3.0f, 2.0f}).token_id, 1);
}

TEST(SamplerTest, MinTokensMasksStopTokens) {
  Case c;
  c.params.temperature = 0.0f;
  c.params.min_tokens = 2;
  c.params.stop_token_ids = {3};
  c.output = {5};
  EXPECT_EQ(c.run({9.0f, 1.0f, 2.0f, 8.0f}).token_id, 2);  // eos 0 and stop 3 masked
  c.output = {5, 6};
  EXPECT_EQ(c.run({9.0f, 1.0f, 2.0f, 8.0f}).token_id, 0);
}

TEST(SamplerTest, SeededDrawsAreReproducibleAndFollowTheDistribution) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  std::map<int32_t, int> counts;
  Case c;
  c.params.temperature = 1.0f;
  for (uint64_t seed = 0; seed < 20000; ++seed) {
    c.seed = seed;
    int32_t tok = c.run(logits).token_id;
    ++counts[tok];
    if (seed < 50) {
      EXPECT_EQ(c.run(logits).token_id, tok);  // same seed, same draw
    }
  }
  EXPECT_NEAR(counts[0] / 20000.0, 0.5, 0.02);
  EXPECT_NEAR(counts[1] / 20000.0, 0.3, 0.02);
  EXPECT_NEAR(counts[2] / 20000.0, 0.2, 0.02);
  // A different draw index (more output) gives an independent number.
  EXPECT_NE(uniform_draw(1, 0), uniform_draw(1, 1));
}

TEST(SamplerTest, TopKTopPMinPRestrictTheCandidates) {
  const std::vector<float> logits = {std::log(0.4f), std::log(0.35f), std::log(0.25f)};
  for (uint64_t seed = 0; seed < 300; ++seed) {
    Case k;
    k.seed = seed;
    k.params.top_k = 1;
    EXPECT_EQ(k.run(logits).token_id, 0);
    Case p;
    p.seed = seed;
    p.params.top_p = 0.7f;  // 0.4 + 0.35 reaches it: token 2 never drawn
    EXPECT_NE(p.run(logits).token_id, 2);
    Case m;
    m.seed = seed;
    m.params.min_p = 0.7f;  // keeps p >= 0.28: tokens 0 and 1
    EXPECT_NE(m.run(logits).token_id, 2);
  }
}

TEST(SamplerTest, LowTemperatureSharpensTowardsTheArgmax) {
  Case c;
  c.params.temperature = 0.05f;
  int hits = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    c.seed = seed;
    hits += c.run({1.0f, 1.5f, 0.5f}).token_id == 1;
  }
  EXPECT_GE(hits, 198);
}

}  // namespace
}  // namespace pdserve::runner
