// Stop conditions inside an accepted run of proposals: a stop token (EOS
// takes the same path in check_stop), min_tokens, max_tokens and the context limit end the output
// exactly where they would without speculation (the accepted tokens after it are dropped); an abort
// mid-speculation and the finishes leave every block free.
#include <gtest/gtest.h>

#include "tests/engine/spec/spec_test_util.h"

namespace pdserve::spec {
namespace {

// A passage the demo model recites, then its start again: n-gram proposals
// are accepted in long runs.
std::vector<int32_t> repeating_prompt() {
  static const std::vector<int32_t> kPassage = recite({0, 1017, 290, 263}, 60);
  std::vector<int32_t> prompt = kPassage;
  prompt.insert(prompt.end(), kPassage.begin() + 1, kPassage.begin() + 8);
  return prompt;
}

engine::RequestSpec greedy(uint64_t id, int max_tokens) {
  engine::RequestSpec s;
  s.request_id = id;
  s.prompt_ids = repeating_prompt();
  s.sampling.temperature = 0.0f;
  s.sampling.max_tokens = max_tokens;
  s.sampling.ignore_eos = true;
  return s;
}

std::vector<engine::GenerateResult> run(const SpeculativeConfig* spec,
                                        const std::vector<engine::RequestSpec>& specs,
                                        int max_model_len = 0) {
  engine::EngineConfig config;
  DemoEngine d = DemoEngine::make(config, spec, 512, max_model_len);
  auto r = d.engine->generate(specs);
  PD_CHECK(r.ok()) << r.status().to_string();
  EXPECT_TRUE(d.all_blocks_free());
  if (spec) {
    EXPECT_GT(d.engine->stats().spec_decode.num_accepted_tokens, 0);
  }
  return std::move(r).value();
}

void expect_same(const std::vector<engine::GenerateResult>& a,
                 const std::vector<engine::GenerateResult>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].token_ids, b[i].token_ids) << "request " << a[i].request_id;
    EXPECT_EQ(a[i].finish_reason, b[i].finish_reason) << "request " << a[i].request_id;
    EXPECT_EQ(a[i].stop_token_id, b[i].stop_token_id) << "request " << a[i].request_id;
  }
}

TEST(SpecStopTest, MaxTokensAndStopTokensInsideAcceptedRuns) {
  const SpeculativeConfig ngram = ngram_config(6);
  const std::vector<engine::GenerateResult> full = run(nullptr, {greedy(1, 40)});
  const std::vector<int32_t>& text = full[0].token_ids;
  std::vector<engine::RequestSpec> specs;
  uint64_t id = 1;
  for (int n = 1; n <= 13; ++n) specs.push_back(greedy(id++, n));  // every offset of a run of 6
  for (size_t i : {3u, 9u, 17u, 26u}) {  // stop at a token first seen there
    engine::RequestSpec s = greedy(id++, 40);
    s.sampling.stop_token_ids = {text[i]};
    specs.push_back(s);
  }
  engine::RequestSpec min_tokens = greedy(id++, 40);
  min_tokens.sampling.stop_token_ids = {text[2]};
  min_tokens.sampling.min_tokens = 20;
  specs.push_back(min_tokens);
  const std::vector<engine::GenerateResult> plain = run(nullptr, specs);
  for (int n = 1; n <= 13; ++n)
    EXPECT_EQ(plain[static_cast<size_t>(n - 1)].token_ids.size(), static_cast<size_t>(n));
  expect_same(run(&ngram, specs), plain);
  const SpeculativeConfig draft = draft_config(6);
  expect_same(run(&draft, specs), plain);
}

TEST(SpecStopTest, ContextLimitIsExact) {
  const SpeculativeConfig ngram = ngram_config(8);
  const auto prompt_len = static_cast<int>(repeating_prompt().size());
  std::vector<engine::RequestSpec> specs;
  for (int n = 1; n <= 9; ++n) specs.push_back(greedy(static_cast<uint64_t>(n), 30 - n));
  const int max_model_len = prompt_len + 30 - 1;  // request 1 ends right at the limit
  const std::vector<engine::GenerateResult> plain = run(nullptr, specs, max_model_len);
  expect_same(run(&ngram, specs, max_model_len), plain);
  const SpeculativeConfig draft = draft_config(8);
  expect_same(run(&draft, specs, max_model_len), plain);
}

TEST(SpecStopTest, AbortMidSpeculationFreesEveryBlock) {
  for (const SpeculativeConfig& spec : {ngram_config(4), draft_config(4)}) {
    engine::EngineConfig config;
    DemoEngine d = DemoEngine::make(config, &spec);
    for (uint64_t id = 1; id <= 6; ++id) ASSERT_TRUE(d.engine->add_request(greedy(id, 60)).ok());
    bool aborted = false;
    while (d.engine->has_unfinished()) {
      ASSERT_TRUE(d.engine->step().ok());
      if (!aborted && d.engine->stats().spec_decode.num_drafts > 0) {  // proposals in hand
        for (uint64_t id = 1; id <= 6; id += 2) ASSERT_TRUE(d.engine->abort(id).ok());
        aborted = true;
      }
    }
    EXPECT_TRUE(aborted);
    EXPECT_TRUE(d.all_blocks_free());
  }
}

}  // namespace
}  // namespace pdserve::spec
