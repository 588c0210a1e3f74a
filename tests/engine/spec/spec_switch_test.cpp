// Speculation switched on and off mid-run by the adaptive cut: a step that
// neither verifies nor proposes runs on the target's own path (its device
// sampler), the others on SpecDecodeRunner's, and the two keep one sampling
// state per sequence. Requests arrive in two waves so that the cut (4
// requests) turns speculation on, off while the second wave runs, and on
// again as requests finish. Greedy output (with penalties, with logprobs)
// is that of plain decoding token for token, seeded sampling repeats, and
// a plain step after a verification samples exactly as a runner that
// resumed the sequence from the tokens emitted so far.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "engine/spec/ngram_proposer.h"
#include "tests/engine/spec/spec_test_util.h"

namespace pdserve::spec {
namespace {

constexpr int kCut = 4;

SpeculativeConfig switching(SpecMethod method) {
  SpeculativeConfig c = method == SpecMethod::kNgram ? ngram_config() : draft_config();
  c.disable_by_batch_size = kCut;
  return c;
}

// Two requests, then (after kDelay steps) five more with shorter outputs:
// 7 >= kCut requests turn speculation off until the second wave is done.
constexpr int kDelay = 6;
std::vector<engine::RequestSpec> wave(uint64_t first_id, int num_requests, int max_tokens,
                                      const runner::SamplingParams& sampling) {
  std::mt19937 rng(static_cast<uint32_t>(first_id));
  std::vector<engine::RequestSpec> specs;
  for (int i = 0; i < num_requests; ++i) {
    engine::RequestSpec s;
    s.request_id = first_id + static_cast<uint64_t>(i);
    s.prompt_ids = i % 3 != 2 ? passage_prompt(rng) : random_prompt(rng);
    s.sampling = sampling;
    if (s.sampling.seed) s.sampling.seed = *s.sampling.seed + s.request_id;
    s.sampling.max_tokens = max_tokens - static_cast<int>(rng() % 6);
    s.sampling.ignore_eos = true;
    specs.push_back(std::move(s));
  }
  return specs;
}

struct Outcome {
  std::map<uint64_t, std::vector<runner::SampledToken>> tokens;  // by request id
  // Drafts verified before the second wave, while it ran, and after.
  int64_t drafts_before = 0, drafts_crowded = 0, drafts_after = 0;
};

Outcome run_waves(const SpeculativeConfig* spec, const runner::SamplingParams& sampling) {
  const std::vector<engine::RequestSpec> first = wave(1, 2, 64, sampling);
  const std::vector<engine::RequestSpec> second = wave(101, 5, 14, sampling);
  engine::EngineConfig config;
  DemoEngine d = DemoEngine::make(config, spec);
  Outcome out;
  auto drafts = [&] { return d.engine->stats().spec_decode.num_drafts; };
  for (const engine::RequestSpec& s : first) PD_CHECK(d.engine->add_request(s).ok());
  size_t unfinished = first.size();
  for (int step = 0; d.engine->has_unfinished(); ++step) {
    if (step == kDelay) {
      out.drafts_before = drafts();
      for (const engine::RequestSpec& s : second) PD_CHECK(d.engine->add_request(s).ok());
      unfinished += second.size();
    }
    const int64_t drafts_then = drafts();
    const bool crowded = unfinished >= static_cast<size_t>(kCut);
    auto outputs = d.engine->step();
    PD_CHECK(outputs.ok()) << outputs.status().to_string();
    for (const scheduler::RequestOutput& o : *outputs) {
      auto& tokens = out.tokens[o.request_id];
      tokens.insert(tokens.end(), o.new_tokens.begin(), o.new_tokens.end());
      if (o.finished) --unfinished;
    }
    (crowded ? out.drafts_crowded : out.drafts_after) += drafts() - drafts_then;
  }
  out.drafts_after -= out.drafts_before;
  EXPECT_TRUE(d.all_blocks_free());
  return out;
}

std::map<uint64_t, std::vector<int32_t>> ids(const Outcome& o) {
  std::map<uint64_t, std::vector<int32_t>> out;
  for (const auto& [id, tokens] : o.tokens)
    for (const runner::SampledToken& t : tokens) out[id].push_back(t.token_id);
  return out;
}

// Speculation verified drafts before the second wave, none while it ran,
// and again after it.
void expect_switched(const Outcome& o) {
  EXPECT_GT(o.drafts_before, 0);
  EXPECT_EQ(o.drafts_crowded, 0);
  EXPECT_GT(o.drafts_after, 0);
}

runner::SamplingParams greedy() {
  runner::SamplingParams p;
  p.temperature = 0.0f;
  return p;
}

class SpecSwitchTest : public testing::TestWithParam<SpecMethod> {};

TEST_P(SpecSwitchTest, GreedyMatchesPlainAcrossTheSwitch) {
  const SpeculativeConfig spec = switching(GetParam());
  const Outcome fast = run_waves(&spec, greedy());
  expect_switched(fast);
  EXPECT_EQ(ids(fast), ids(run_waves(nullptr, greedy())));
}

TEST_P(SpecSwitchTest, GreedyWithPenaltiesMatchesPlainAcrossTheSwitch) {
  // Verification sees the tokens of plain steps, the target's penalty
  // history those verification emitted. (The demo model's greedy choice
  // rarely turns on a few counts: SpecSwitchRunnerTest checks the history
  // far from greedy.)
  runner::SamplingParams p = greedy();
  p.repetition_penalty = 1.3f;
  p.frequency_penalty = 0.4f;
  p.presence_penalty = 0.3f;
  const SpeculativeConfig spec = switching(GetParam());
  const Outcome fast = run_waves(&spec, p);
  // Verified before the second wave, none while it ran (after it, the
  // penalized text has left the passage: n-gram may find nothing, but its
  // steps still sample on the speculative path).
  EXPECT_GT(fast.drafts_before, 0);
  EXPECT_EQ(fast.drafts_crowded, 0);
  const auto plain = ids(run_waves(nullptr, p));
  EXPECT_EQ(ids(fast), plain);
  EXPECT_NE(plain, ids(run_waves(nullptr, greedy()))) << "the penalties change nothing";
}

TEST_P(SpecSwitchTest, LogprobsAsRequestedAcrossTheSwitch) {
  runner::SamplingParams p = greedy();
  p.num_logprobs = 3;
  const SpeculativeConfig spec = switching(GetParam());
  const Outcome fast = run_waves(&spec, p);
  expect_switched(fast);
  const Outcome plain = run_waves(nullptr, p);
  ASSERT_EQ(ids(fast), ids(plain));
  for (const auto& [id, tokens] : plain.tokens) {
    const std::vector<runner::SampledToken>& got = fast.tokens.at(id);
    for (size_t i = 0; i < tokens.size(); ++i) {
      EXPECT_FLOAT_EQ(got[i].logprob, tokens[i].logprob) << "request " << id << ", token " << i;
      ASSERT_EQ(got[i].top.size(), 3u);
      for (size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(got[i].top[k].token_id, tokens[i].top[k].token_id);
        EXPECT_FLOAT_EQ(got[i].top[k].logprob, tokens[i].top[k].logprob);
      }
    }
  }
}

TEST_P(SpecSwitchTest, SeededSamplingRepeatsAcrossTheSwitch) {
  runner::SamplingParams p;
  p.temperature = 0.9f;
  p.top_p = 0.95f;
  p.frequency_penalty = 0.2f;
  p.seed = 1000;
  const SpeculativeConfig spec = switching(GetParam());
  const Outcome once = run_waves(&spec, p);
  expect_switched(once);
  EXPECT_EQ(ids(once), ids(run_waves(&spec, p)));
  // Configured but never on (the cut at one request), speculation leaves
  // every step to the target: the tokens of no speculation, seed for seed.
  SpeculativeConfig never = spec;
  never.disable_by_batch_size = 1;
  const Outcome off = run_waves(&never, p);
  EXPECT_EQ(off.drafts_before + off.drafts_crowded + off.drafts_after, 0);
  EXPECT_EQ(ids(off), ids(run_waves(nullptr, p)));
}

INSTANTIATE_TEST_SUITE_P(Proposers, SpecSwitchTest,
                         testing::Values(SpecMethod::kNgram, SpecMethod::kDraftModel),
                         [](const testing::TestParamInfo<SpecMethod>& info) {
                           return info.param == SpecMethod::kNgram ? "Ngram" : "DraftModel";
                         });

// Blocks 0, 1, ... enough for num_tokens positions.
std::vector<int32_t> blocks_for(int num_tokens, int block_size) {
  std::vector<int32_t> table;
  for (int b = 0; b * block_size < num_tokens; ++b) table.push_back(b);
  return table;
}

// Steps one sequence through SpecDecodeRunner by hand: a prefill that
// proposes, a verification, then plain steps. Each plain step's token is
// the one a plain runner samples when it resumes the sequence from the
// tokens emitted so far (SequenceInfo::output_ids: the draw index, the
// penalty history), so the target's state kept up with verification.
TEST(SpecSwitchRunnerTest, PlainStepsAfterAVerificationSampleAsAResumedRunner) {
  runner::SamplingParams p;  // far from greedy: a draw index or history off shows
  p.temperature = 1.5f;
  p.repetition_penalty = 1.3f;
  p.frequency_penalty = 0.5f;
  std::mt19937 rng(5);
  const std::vector<int32_t> prompt = passage_prompt(rng);
  std::unique_ptr<runner::LlmRunner> target = cpu_target();
  SpecDecodeRunner spec(target.get(), std::make_unique<NgramProposer>(2, 4));
  const int bs = target->block_size();
  std::vector<int32_t> outputs;
  auto step = [&](std::vector<int32_t> inputs, int num_drafts, int num_propose) {
    runner::SeqStep s;
    s.seq_id = 1;
    // Every known token but the last has its KV (a rejected draft's is overwritten).
    s.num_computed = outputs.empty() ? 0 : static_cast<int32_t>(prompt.size() + outputs.size() - 1);
    s.input_ids = std::move(inputs);
    s.sample = true;
    s.num_draft_tokens = num_drafts;
    s.num_propose = num_propose;
    const int num_slots = s.num_computed + static_cast<int>(s.input_ids.size()) + num_propose;
    s.block_table = blocks_for(num_slots, bs);
    auto out = spec.execute({{}, {}, {s}});
    PD_CHECK(out.ok()) << out.status().to_string();
    for (const runner::SampledToken& t : out->sampled) outputs.push_back(t.token_id);
    return *out;
  };
  // A seed whose first token continues the passage, so that n-gram proposes.
  std::vector<int32_t> drafts;
  for (uint64_t seed = 1; seed <= 64 && drafts.empty(); ++seed) {
    spec.remove_sequence(1);
    outputs.clear();
    p.seed = seed;
    ASSERT_TRUE(spec.add_sequence({.seq_id = 1, .prompt_ids = prompt, .sampling = p}).ok());
    const runner::StepOutput first = step(prompt, 0, 4);
    if (!first.drafts.empty()) drafts = first.drafts[0].token_ids;
  }
  ASSERT_FALSE(drafts.empty()) << "n-gram proposed nothing, whatever the seed";
  std::vector<int32_t> verify = {outputs.back()};
  verify.insert(verify.end(), drafts.begin(), drafts.end());
  step(verify, static_cast<int>(drafts.size()), 0);
  const size_t num_spec_outputs = outputs.size();
  ASSERT_GE(num_spec_outputs, 2u);
  for (int i = 0; i < 8; ++i) step({outputs.back()}, 0, 0);

  // A plain runner resumed after each of those outputs samples the next one.
  std::unique_ptr<runner::LlmRunner> plain = cpu_target();
  for (size_t n = num_spec_outputs; n < outputs.size(); ++n) {
    const std::vector<int32_t> before(outputs.begin(), outputs.begin() + static_cast<ptrdiff_t>(n));
    ASSERT_TRUE(
        plain
            ->add_sequence({.seq_id = 2, .prompt_ids = prompt, .sampling = p, .output_ids = before})
            .ok());
    runner::SeqStep s;
    s.seq_id = 2;
    s.input_ids = prompt;
    s.input_ids.insert(s.input_ids.end(), before.begin(), before.end());
    s.block_table = blocks_for(static_cast<int>(s.input_ids.size()), bs);
    s.sample = true;
    auto out = plain->execute({{}, {}, {s}});
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ(out->sampled.at(0).token_id, outputs[n]) << "output " << n;
    plain->remove_sequence(2);
  }
}

}  // namespace
}  // namespace pdserve::spec
