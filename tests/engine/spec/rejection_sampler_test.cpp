// The verifier keeps the target distribution: over many seeded trials the
// first emitted token follows p whatever the proposal's q (a draft's
// distribution or a point mass), and the bonus token follows the next
// position's p. The chi-square threshold (p-value 1e-4) is shown to reject
// the draft's own distribution, i.e. a verifier that accepts everything.
#include "engine/spec/rejection_sampler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace pdserve::spec {
namespace {

constexpr int kVocab = 6;
constexpr int kTrials = 20000;
// Chi-square critical value, 5 degrees of freedom, p = 1e-4.
constexpr double kCritical = 25.74;

const std::vector<float> kTarget = {2.0f, 1.5f, 0.2f, -0.5f, 1.0f, 0.0f};
const std::vector<float> kTargetNext = {0.0f, 0.3f, 2.2f, 1.0f, -1.0f, 0.5f};
const std::vector<float> kDraft = {0.5f, 2.5f, 0.0f, 0.8f, -0.3f, 1.2f};

std::vector<double> probs(std::vector<float> logits, const runner::SamplingParams& p,
                          std::span<const int32_t> outputs = {}) {
  runner::SamplingContext ctx{&p, {}, outputs, {}, 0};
  return runner::sampling_probs(logits, ctx);
}

double chi_square(const std::vector<int>& counts, const std::vector<double>& p) {
  int n = 0;
  for (int c : counts) n += c;
  double chi = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double expected = n * p[i];
    if (expected == 0.0) {
      if (counts[i] > 0) return INFINITY;
      continue;
    }
    chi += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  return chi;
}

struct Counts {
  std::vector<int> first = std::vector<int>(kVocab, 0);
  std::vector<int> bonus = std::vector<int>(kVocab, 0);
  std::vector<int> draft = std::vector<int>(kVocab, 0);
};

// kTrials verifications of one proposal drawn from q (or fixed at
// `point_token` with a point mass when q is empty).
Counts run_trials(const runner::SamplingParams& params, const std::vector<double>& q,
                  int32_t point_token) {
  Counts c;
  for (uint64_t seed = 0; seed < kTrials; ++seed) {
    Proposal prop;
    if (q.empty()) {
      prop.token_ids = {point_token};
    } else {
      prop.token_ids = {runner::draw_from(q, runner::uniform_draw(seed + 7777777, 0))};
      prop.probs = {q};
    }
    ++c.draft[static_cast<size_t>(prop.token_ids[0])];
    std::vector<float> rows = kTarget;
    rows.insert(rows.end(), kTargetNext.begin(), kTargetNext.end());
    runner::SamplingContext ctx{&params, {}, {}, {}, seed};
    const std::vector<runner::SampledToken> out = verify(rows, kVocab, prop, 1, ctx);
    EXPECT_TRUE(out.size() == 1 || out.size() == 2);
    ++c.first[static_cast<size_t>(out[0].token_id)];
    if (out.size() == 2) {
      EXPECT_EQ(out[0].token_id, prop.token_ids[0]);
      ++c.bonus[static_cast<size_t>(out[1].token_id)];
    }
  }
  return c;
}

TEST(RejectionSamplerTest, DraftDistributionKeepsTheTarget) {
  runner::SamplingParams params;
  params.temperature = 1.0f;
  const std::vector<double> p = probs(kTarget, params);
  const std::vector<double> q = probs(kDraft, params);
  const Counts c = run_trials(params, q, 0);
  EXPECT_LT(chi_square(c.first, p), kCritical);
  EXPECT_LT(chi_square(c.bonus, probs(kTargetNext, params)), kCritical);
  // Accepting every proposal would emit q: the test rejects it.
  EXPECT_GT(chi_square(c.draft, p), kCritical);
}

TEST(RejectionSamplerTest, PointMassKeepsTheTarget) {
  runner::SamplingParams params;
  params.temperature = 0.8f;
  params.top_k = 4;
  params.min_p = 0.05f;
  const std::vector<double> p = probs(kTarget, params);
  for (int32_t t : {0, 1, 5}) {  // likely, less likely, filtered out by top_k
    const Counts c = run_trials(params, {}, t);
    EXPECT_LT(chi_square(c.first, p), kCritical) << "proposal " << t;
  }
}

TEST(RejectionSamplerTest, PenaltiesSeeTheAcceptedTokens) {
  runner::SamplingParams params;
  params.temperature = 0.0f;
  params.presence_penalty = 5.0f;
  // Greedy: row 0's argmax is 0; once 0 is accepted, the penalty on it makes
  // row 1's argmax 2 (kTargetNext) regardless; with kTarget in both rows the
  // penalised 0 gives way to 1.
  std::vector<float> rows = kTarget;
  rows.insert(rows.end(), kTarget.begin(), kTarget.end());
  runner::SamplingContext ctx{&params, {}, {}, {}, 1};
  Proposal prop{{0}, {}};
  const auto out = verify(rows, kVocab, prop, 1, ctx);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].token_id, 0);
  EXPECT_EQ(out[1].token_id, 1);
}

TEST(RejectionSamplerTest, GreedyIsExactMatchWithRawLogprobs) {
  runner::SamplingParams params;
  params.temperature = 0.0f;
  params.num_logprobs = 2;
  std::vector<float> rows = kTarget;
  rows.insert(rows.end(), kTargetNext.begin(), kTargetNext.end());
  std::vector<float> copy = rows;
  runner::SamplingContext ctx{&params, {}, {}, {}, 1};
  auto out = verify(copy, kVocab, Proposal{{1}, {}}, 1, ctx);  // argmax is 0: rejected
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].token_id, 0);
  double lse = 0.0;
  for (float v : kTarget) lse += std::exp(v);
  EXPECT_NEAR(out[0].logprob, kTarget[0] - std::log(lse), 1e-5);
  ASSERT_EQ(out[0].top.size(), 2u);
  EXPECT_EQ(out[0].top[1].token_id, 1);
  copy = rows;
  out = verify(copy, kVocab, Proposal{{0}, {}}, 1, ctx);  // accepted, then row 1's argmax
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].token_id, 2);
}

}  // namespace
}  // namespace pdserve::spec
