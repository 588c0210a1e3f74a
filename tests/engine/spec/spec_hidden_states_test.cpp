// The seam for EAGLE-style heads: a proposer that needs_hidden_states()
// receives, with each sequence's input, the target's final hidden states of
// the rows whose tokens the step emitted. A proposer that records them
// around the n-gram proposer (which makes the proposals) is checked against
// the same states computed in one teacher-forced forward of the target: on
// the CPU a row's states do not depend on the rows computed with it, so the
// two are bitwise equal. Greedy output stays that of plain decoding.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "engine/spec/ngram_proposer.h"
#include "tests/engine/spec/spec_test_util.h"

namespace pdserve::spec {
namespace {

struct Handover {
  std::vector<int32_t> tokens;
  std::vector<float> hidden;
};

class RecordingProposer final : public Proposer {
 public:
  explicit RecordingProposer(std::vector<Handover>* log) : ngram_(2, 4), log_(log) {}
  bool needs_hidden_states() const override { return true; }
  Result<std::vector<Proposal>> propose(std::span<const ProposeInput> inputs) override {
    for (const ProposeInput& in : inputs) {
      log_->push_back({{in.token_ids.begin(), in.token_ids.end()},
                       {in.hidden_states.begin(), in.hidden_states.end()}});
    }
    return ngram_.propose(inputs);
  }
  void remove_sequence(uint64_t seq_id) override { ngram_.remove_sequence(seq_id); }

 private:
  NgramProposer ngram_;
  std::vector<Handover>* log_;
};

// The target's final hidden states of every position of `tokens` but the
// last, [tokens.size() - 1, hidden], in one forward.
std::vector<float> teacher_forced(runner::LlmRunner& target, const std::vector<int32_t>& tokens) {
  PD_CHECK(target.add_sequence({.seq_id = 1}).ok());
  runner::SeqStep s;
  s.seq_id = 1;
  s.input_ids.assign(tokens.begin(), tokens.end() - 1);
  s.num_draft_tokens = static_cast<int32_t>(s.input_ids.size()) - 1;  // every row
  s.sample = true;
  const int bs = target.block_size();
  for (int b = 0; b * bs < static_cast<int>(s.input_ids.size()); ++b) s.block_table.push_back(b);
  std::vector<float> hidden;
  PD_CHECK(target.compute_logits({{}, {}, {s}}, &hidden).ok());
  target.remove_sequence(1);
  return hidden;
}

TEST(SpecHiddenStatesTest, ProposerReceivesTheTargetsStatesOfTheEmittedRows) {
  std::vector<engine::RequestSpec> specs;
  std::mt19937 rng(3);
  for (int i = 0; i < 4; ++i) {
    engine::RequestSpec s;
    s.request_id = static_cast<uint64_t>(i + 1);
    s.prompt_ids = passage_prompt(rng);
    s.sampling.temperature = 0.0f;
    s.sampling.max_tokens = 24;
    s.sampling.ignore_eos = true;
    specs.push_back(std::move(s));
  }
  std::unique_ptr<runner::LlmRunner> target = cpu_target();
  std::vector<Handover> log;
  SpecDecodeRunner spec(target.get(), std::make_unique<RecordingProposer>(&log));
  engine::EngineConfig config;
  apply_to_scheduler(ngram_config(), &config.scheduler);
  auto e = engine::Engine::create(config, &spec);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  auto fast = (*e)->generate(specs);
  ASSERT_TRUE(fast.ok()) << fast.status().to_string();
  for (size_t i = 0; i < specs.size(); ++i) {
    std::vector<int32_t> plain = recite(specs[i].prompt_ids, 24);
    plain.erase(plain.begin(), plain.begin() + static_cast<ptrdiff_t>(specs[i].prompt_ids.size()));
    EXPECT_EQ((*fast)[i].token_ids, plain) << "request " << i;
  }

  // Every handover's tokens start some request's whole sequence, whose
  // states at those positions are theirs (the model is causal).
  std::unique_ptr<runner::LlmRunner> checker = cpu_target();
  std::vector<std::vector<int32_t>> sequences;
  std::vector<std::vector<float>> states;
  for (size_t i = 0; i < specs.size(); ++i) {
    sequences.push_back(specs[i].prompt_ids);
    sequences.back().insert(sequences.back().end(), (*fast)[i].token_ids.begin(),
                            (*fast)[i].token_ids.end());
    states.push_back(teacher_forced(*checker, sequences.back()));
  }
  const auto hidden_size = static_cast<size_t>(target->config().hidden_size);
  size_t longest = 0;
  ASSERT_FALSE(log.empty());
  for (const Handover& h : log) {
    ASSERT_EQ(h.hidden.size() % hidden_size, 0u);
    const size_t n = h.hidden.size() / hidden_size;
    ASSERT_GE(n, 1u);
    ASSERT_LE(n, 5u);  // at most num_speculative_tokens + 1 emitted
    longest = std::max(longest, n);
    size_t r = 0;
    while (r < sequences.size() &&
           (sequences[r].size() < h.tokens.size() ||
            !std::equal(h.tokens.begin(), h.tokens.end(), sequences[r].begin())))
      ++r;
    ASSERT_LT(r, sequences.size()) << "a handover's tokens are no request's";
    const std::vector<float>& all = states[r];
    // Row j: the state at position size - n - 1 + j.
    const size_t first = (h.tokens.size() - n - 1) * hidden_size;
    EXPECT_TRUE(std::equal(h.hidden.begin(), h.hidden.end(), all.begin() + first))
        << "handover after " << h.tokens.size() << " tokens, " << n << " rows";
  }
  EXPECT_GT(longest, 1u) << "no step emitted more than one token";
}

}  // namespace
}  // namespace pdserve::spec
