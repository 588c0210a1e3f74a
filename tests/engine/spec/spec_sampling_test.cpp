// Sampling with speculation keeps the target distribution, end to end on
// the demo pair: thousands of seeded requests (temperature 1, top_k) whose
// second token is a verified draft-model proposal (or the residual draw
// after its rejection) give (first, second) token pairs that follow the
// target's joint distribution, computed exactly from the target's logits.
// The draft's own joint distribution -- what a verifier that accepts every
// proposal would emit -- is shown to fail the same test at this sample size.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "tests/engine/spec/spec_test_util.h"

namespace pdserve::spec {
namespace {

constexpr int kSamples = 1000;
using Joint = std::map<std::pair<int32_t, int32_t>, double>;
using Counts = std::map<std::pair<int32_t, int32_t>, int>;

constexpr int kTopK = 3;

runner::SamplingParams params() {
  runner::SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = kTopK;
  p.ignore_eos = true;
  return p;
}

// The distribution the sampler draws the token after `tokens` from.
std::vector<double> next_token_probs(runner::LlmRunner& model, const std::vector<int32_t>& tokens) {
  const runner::SamplingParams p = params();
  PD_CHECK(model.add_sequence({.seq_id = 1, .prompt_ids = tokens, .sampling = p}).ok());
  runner::StepBatch batch;
  runner::SeqStep s;
  s.seq_id = 1;
  s.input_ids = tokens;
  const int num_blocks =
      (static_cast<int>(tokens.size()) + model.block_size() - 1) / model.block_size();
  for (int b = 0; b < num_blocks; ++b) s.block_table.push_back(b);
  s.sample = true;
  batch.seqs.push_back(s);
  auto logits = model.compute_logits(batch);
  PD_CHECK(logits.ok()) << logits.status().to_string();
  model.remove_sequence(1);
  runner::SamplingContext ctx{&p, tokens, {}, {}, 0};
  return runner::sampling_probs(*logits, ctx);
}

// P(first, second) after `prompt` under `model`'s sampling distribution.
Joint joint(const std::filesystem::path& dir, const std::vector<int32_t>& prompt) {
  runner::LlmRunnerOptions options;
  options.num_blocks = 16;
  auto model = runner::LlmRunner::load(dir, backend::make_cpu_backend(0), options);
  PD_CHECK(model.ok()) << model.status().to_string();
  Joint out;
  const std::vector<double> first = next_token_probs(**model, prompt);
  for (size_t a = 0; a < first.size(); ++a) {
    if (first[a] == 0.0) continue;
    std::vector<int32_t> longer = prompt;
    longer.push_back(static_cast<int32_t>(a));
    const std::vector<double> second = next_token_probs(**model, longer);
    for (size_t b = 0; b < second.size(); ++b) {
      if (second[b] > 0.0)
        out[{static_cast<int32_t>(a), static_cast<int32_t>(b)}] = first[a] * second[b];
    }
  }
  return out;
}

// Pearson's chi-square of n observations against `expected`, cells expected
// fewer than 5 times pooled into one; *df gets the degrees of freedom.
// Observations where `expected` has no mass make it infinite.
double chi_square(const Counts& counts, const Joint& expected, int n, int* df) {
  for (const auto& [cell, c] : counts)
    if (!expected.contains(cell)) return INFINITY;
  double chi = 0.0, pooled_p = 0.0, pooled_observed = 0.0;
  int cells = 0;
  for (const auto& [cell, p] : expected) {
    const auto it = counts.find(cell);
    const double observed = it == counts.end() ? 0.0 : it->second;
    if (n * p < 5.0) {
      pooled_p += p;
      pooled_observed += observed;
      continue;
    }
    chi += (observed - n * p) * (observed - n * p) / (n * p);
    ++cells;
  }
  if (pooled_p > 0.0) {
    chi += (pooled_observed - n * pooled_p) * (pooled_observed - n * pooled_p) / (n * pooled_p);
    ++cells;
  }
  *df = cells - 1;
  return chi;
}

// Upper 1e-4 quantile of chi-square with df degrees of freedom
// (Wilson-Hilferty; z = 3.719).
double critical_value(int df) {
  const double z = 3.719, a = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

TEST(SpecSamplingTest, DraftModelSamplesFollowTheTargetJointDistribution) {
  // A point of the recited passage where both models hesitate (the target
  // between two continuations) and disagree (the draft's joint distribution
  // overlaps the target's by about half). 17 tokens: the first 16 are
  // served from the prefix cache.
  const std::vector<int32_t> passage = recite({0, 1017, 290, 263}, 13);
  const std::vector<int32_t> prompt(passage.begin(), passage.begin() + 17);
  const auto target = joint(kDemoDir, prompt);
  const auto draft = joint(kDraftDir, prompt);

  engine::EngineConfig config;
  config.scheduler.max_num_seqs = 128;
  config.scheduler.max_num_batched_tokens = 1024;
  const SpeculativeConfig spec = draft_config(2);
  DemoEngine d = DemoEngine::make(config, &spec, /*num_blocks=*/1024);
  std::vector<engine::RequestSpec> specs;
  for (int i = 0; i < kSamples; ++i) {
    engine::RequestSpec s;
    s.request_id = static_cast<uint64_t>(i + 1);
    s.prompt_ids = prompt;
    s.sampling = params();
    s.sampling.seed = static_cast<uint64_t>(i) * 7919 + 1;
    s.sampling.max_tokens = 3;  // the second token is verified (one draft fits)
    specs.push_back(std::move(s));
  }
  auto results = d.engine->generate(std::move(specs));
  ASSERT_TRUE(results.ok()) << results.status().to_string();
  Counts counts;
  for (const engine::GenerateResult& g : *results) {
    ASSERT_EQ(g.token_ids.size(), 3u);
    ++counts[{g.token_ids[0], g.token_ids[1]}];
  }
  const scheduler::SpecDecodeStats& s = d.engine->stats().spec_decode;
  EXPECT_EQ(s.num_drafts, kSamples);
  EXPECT_GT(s.num_accepted_tokens, 0);
  EXPECT_LT(s.num_accepted_tokens, kSamples);  // some rejections: the residual is exercised
  EXPECT_TRUE(d.all_blocks_free());

  int df = 0;
  const double chi = chi_square(counts, target, kSamples, &df);
  EXPECT_LT(chi, critical_value(df)) << "df " << df;
  // The test has the power to see an accept-everything verifier: the
  // draft's joint distribution, as counts, fails it.
  Counts draft_counts;
  for (const auto& [cell, q] : draft)
    draft_counts[cell] = static_cast<int>(std::lround(q * kSamples));
  const double draft_chi = chi_square(draft_counts, target, kSamples, &df);
  EXPECT_GT(draft_chi, critical_value(df)) << "df " << df;
}

}  // namespace
}  // namespace pdserve::spec
