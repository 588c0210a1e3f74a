// Greedy decoding with speculation (n-gram, draft model) gives exactly the
// tokens of greedy decoding without, token for token, on the demo pair:
// batch 1 to 32, chunked prefill with prefix caching, and preemption (few
// blocks). The engine ends with every block free, and proposals were
// verified (the test is not passing by never speculating). The adaptive cut
// (disable_by_batch_size) turns speculation off while the requests running
// and waiting reach it.
#include <gtest/gtest.h>

#include <random>

#include "tests/engine/spec/spec_test_util.h"

namespace pdserve::spec {
namespace {

// Prompts the proposers can guess: a recited passage followed by its first
// tokens again (n-gram finds the passage), and random tokens (nothing to find).
std::vector<engine::RequestSpec> make_requests(int num_requests, int max_tokens) {
  std::mt19937 rng(11);
  std::vector<engine::RequestSpec> specs;
  for (int i = 0; i < num_requests; ++i) {
    engine::RequestSpec s;
    s.request_id = static_cast<uint64_t>(i + 1);
    s.prompt_ids = i % 3 != 2 ? passage_prompt(rng) : random_prompt(rng);
    s.sampling.temperature = 0.0f;
    s.sampling.max_tokens = max_tokens - static_cast<int>(rng() % 8);
    s.sampling.ignore_eos = true;
    specs.push_back(std::move(s));
  }
  return specs;
}

struct Outcome {
  std::vector<std::vector<int32_t>> tokens;
  scheduler::SchedulerStats stats;
};

Outcome run(engine::EngineConfig config, const SpeculativeConfig* spec_config,
            const std::vector<engine::RequestSpec>& specs, int num_blocks = 512) {
  DemoEngine d = DemoEngine::make(config, spec_config, num_blocks);
  auto results = d.engine->generate(specs);
  PD_CHECK(results.ok()) << results.status().to_string();
  EXPECT_TRUE(d.all_blocks_free());
  Outcome out;
  for (const engine::GenerateResult& g : *results) out.tokens.push_back(g.token_ids);
  out.stats = d.engine->stats();
  return out;
}

class SpecGreedyTest : public testing::TestWithParam<SpecMethod> {
 protected:
  SpeculativeConfig config() const {
    return GetParam() == SpecMethod::kNgram ? ngram_config() : draft_config();
  }
};

TEST_P(SpecGreedyTest, BatchesOf1To32MatchPlainGreedy) {
  const SpeculativeConfig spec = config();
  for (int batch : {1, 8, 32}) {
    const std::vector<engine::RequestSpec> specs = make_requests(batch, 40);
    engine::EngineConfig config;
    config.scheduler.max_num_seqs = 32;
    const Outcome plain = run(config, nullptr, specs);
    const Outcome fast = run(config, &spec, specs);
    EXPECT_EQ(fast.tokens, plain.tokens) << "batch " << batch;
    const scheduler::SpecDecodeStats& s = fast.stats.spec_decode;
    EXPECT_GT(s.num_drafts, 0) << "batch " << batch;
    EXPECT_GT(s.num_accepted_tokens, 0) << "batch " << batch;
    EXPECT_LE(s.num_accepted_tokens, s.num_draft_tokens);
  }
}

TEST_P(SpecGreedyTest, ChunkedPrefillPrefixCachingAndPreemptionMatchPlainGreedy) {
  const SpeculativeConfig spec = config();
  const std::vector<engine::RequestSpec> specs = make_requests(16, 48);
  engine::EngineConfig chunked;
  chunked.scheduler.max_num_seqs = 16;
  chunked.scheduler.max_num_batched_tokens = 40;  // prompts are split; drafts compete for it
  const Outcome plain = run(chunked, nullptr, specs);
  const Outcome fast = run(chunked, &spec, specs);
  EXPECT_EQ(fast.tokens, plain.tokens) << "chunked prefill, prefix caching";
  EXPECT_GT(fast.stats.prefix_cache.num_hit_tokens, 0);

  for (scheduler::PreemptionMode mode :
       {scheduler::PreemptionMode::kRecompute, scheduler::PreemptionMode::kSwap}) {
    engine::EngineConfig tight = chunked;
    tight.scheduler.preemption_mode = mode;
    const Outcome squeezed = run(tight, &spec, specs, /*num_blocks=*/24);
    EXPECT_EQ(squeezed.tokens, plain.tokens) << "preemption";
    EXPECT_GT(squeezed.stats.num_preemptions, 0);
  }
}

TEST(SpecAdaptiveTest, NoSpeculationInBatchesAtTheCut) {
  SpeculativeConfig spec = ngram_config();
  spec.disable_by_batch_size = 4;
  engine::EngineConfig config;
  std::vector<engine::RequestSpec> specs = make_requests(6, 24);
  for (engine::RequestSpec& s : specs) s.sampling.max_tokens = 24;  // 6 decode to the end
  Outcome fast = run(config, &spec, specs);
  EXPECT_EQ(fast.tokens, run(config, nullptr, specs).tokens);
  EXPECT_EQ(fast.stats.spec_decode.num_drafts, 0);
  specs.resize(3);  // below the cut
  fast = run(config, &spec, specs);
  EXPECT_EQ(fast.tokens, run(config, nullptr, specs).tokens);
  EXPECT_GT(fast.stats.spec_decode.num_drafts, 0);
}

// A saturated server has a queue: the requests waiting count, so three
// running with three queued behind them do not speculate until the first
// three are done; the last three then speculate as they would alone.
TEST(SpecAdaptiveTest, WaitingRequestsCountTowardsTheCut) {
  SpeculativeConfig spec = ngram_config();
  spec.disable_by_batch_size = 4;
  engine::EngineConfig config;
  config.scheduler.max_num_seqs = 3;
  std::vector<engine::RequestSpec> specs = make_requests(6, 24);
  for (engine::RequestSpec& s : specs) s.sampling.max_tokens = 24;
  const Outcome queued = run(config, &spec, specs);
  EXPECT_EQ(queued.tokens, run(config, nullptr, specs).tokens);
  const std::vector<engine::RequestSpec> last(specs.begin() + 3, specs.end());
  const Outcome alone = run(config, &spec, last);
  EXPECT_GT(queued.stats.spec_decode.num_drafts, 0);
  EXPECT_LE(queued.stats.spec_decode.num_drafts, alone.stats.spec_decode.num_drafts);
}

INSTANTIATE_TEST_SUITE_P(Proposers, SpecGreedyTest,
                         testing::Values(SpecMethod::kNgram, SpecMethod::kDraftModel),
                         [](const testing::TestParamInfo<SpecMethod>& info) {
                           return info.param == SpecMethod::kNgram ? "Ngram" : "DraftModel";
                         });

}  // namespace
}  // namespace pdserve::spec
