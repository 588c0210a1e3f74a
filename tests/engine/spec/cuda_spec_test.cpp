// Speculative decoding on the CUDA backend, greedy, on the demo pair, with
// CUDA graphs for the one-token steps of the target and of the draft model.
// The verification step (k + 1 query rows a sequence), a plain decode step
// and a prefill compute the same logits up to rounding (other GEMM and
// attention kernels, other orders of fp32 sums), so an emitted token may
// differ from plain greedy decoding only after a near tie. The test
// therefore teacher-forces every output through the target twice, in one
// prefill-shaped forward and in one-token decode steps, and checks each
// emitted token is the target's greedy choice up to that rounding in at
// least one of them (its logit within 5e-2 of the row's RMS logit of the
// best, the bound cuda_graph_runner_test uses): a near tie may fall either
// way in either shape, while a wrong acceptance rule emits tokens the target
// ranks far lower in both. (A first H100 run, with the prefill shape alone,
// flagged one token in each of two of 8 requests: near ties that the
// decode shape decides the other way is the reading this test now checks.)
// It also counts the requests identical to plain greedy decoding on CUDA,
// and checks the same across the adaptive cut's switch. Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "tests/engine/spec/spec_test_util.h"

namespace pdserve::spec {
namespace {

constexpr int kMaxNumSeqs = 8;
constexpr int kNumBlocks = 512;

std::unique_ptr<backend::Backend> cuda() {
  auto be = backend::make_cuda_backend(0);
  PD_CHECK(be.ok()) << be.status().to_string();
  return std::move(be).value();
}

std::unique_ptr<runner::LlmRunner> cuda_target() {
  runner::LlmRunnerOptions options;
  options.num_blocks = kNumBlocks;
  auto t = runner::LlmRunner::load(kDemoDir, cuda(), options);
  PD_CHECK(t.ok()) << t.status().to_string();
  return std::move(t).value();
}

// Greedy outputs of `specs` on CUDA, with speculation when spec_config is set,
// target (and draft) replaying CUDA graphs.
std::vector<std::vector<int32_t>> generate(const std::vector<engine::RequestSpec>& specs,
                                           const SpeculativeConfig* spec_config,
                                           scheduler::SpecDecodeStats* stats,
                                           int64_t* num_graph_steps = nullptr) {
  std::unique_ptr<runner::LlmRunner> target = cuda_target();
  target->use_decode_graphs(kMaxNumSeqs);
  PD_CHECK(!target->decode_graph_kernels().empty());
  engine::EngineConfig config;
  config.scheduler.max_num_seqs = kMaxNumSeqs;
  runner::ModelRunner* r = target.get();
  std::unique_ptr<SpecDecodeRunner> spec;
  if (spec_config) {
    auto s = create_spec_runner(*spec_config, target.get(), cuda(), kMaxNumSeqs);
    PD_CHECK(s.ok()) << s.status().to_string();
    spec = std::move(s).value();
    apply_to_scheduler(*spec_config, &config.scheduler);
    r = spec.get();
  }
  auto e = engine::Engine::create(config, r);
  PD_CHECK(e.ok()) << e.status().to_string();
  auto results = (*e)->generate(specs);
  PD_CHECK(results.ok()) << results.status().to_string();
  if (stats) *stats = (*e)->stats().spec_decode;
  if (num_graph_steps) *num_graph_steps = target->num_graph_steps();
  std::vector<std::vector<int32_t>> out;
  for (const engine::GenerateResult& g : *results) out.push_back(g.token_ids);
  return out;
}

// How far below the row's best logit each output token lies, in units of
// the row's RMS logit, from logits [output.size(), vocab].
std::vector<double> gaps(const std::vector<float>& logits, const std::vector<int32_t>& output,
                         size_t vocab) {
  std::vector<double> out;
  for (size_t i = 0; i < output.size(); ++i) {
    const float* row = logits.data() + i * vocab;
    double sq = 0;
    for (size_t v = 0; v < vocab; ++v) sq += static_cast<double>(row[v]) * row[v];
    const float best = *std::max_element(row, row + vocab);
    out.push_back((best - row[output[i]]) / std::sqrt(sq / static_cast<double>(vocab)));
  }
  return out;
}

// The target's logits of each output token's position after `prompt`,
// teacher-forced eagerly in one prefill-shaped forward (decode_steps false)
// or in a prefill of the prompt then one-token steps.
std::vector<float> teacher_forced(runner::LlmRunner& target, const std::vector<int32_t>& prompt,
                                  const std::vector<int32_t>& output, bool decode_steps) {
  PD_CHECK(target.add_sequence({.seq_id = 1}).ok());
  runner::SeqStep s;
  s.seq_id = 1;
  s.input_ids = prompt;
  s.sample = true;
  const int bs = target.block_size();
  for (int b = 0; b * bs < static_cast<int>(prompt.size() + output.size()); ++b)
    s.block_table.push_back(b);
  std::vector<float> logits;
  if (!decode_steps) {
    s.input_ids.insert(s.input_ids.end(), output.begin(), output.end() - 1);
    s.num_draft_tokens = static_cast<int32_t>(output.size()) - 1;
  }
  for (size_t j = 0; j < (decode_steps ? output.size() : 1); ++j) {
    if (j > 0) {
      s.num_computed += static_cast<int32_t>(s.input_ids.size());
      s.input_ids = {output[j - 1]};
    }
    auto step = target.compute_logits({{}, {}, {s}});
    PD_CHECK(step.ok()) << step.status().to_string();
    logits.insert(logits.end(), step->begin(), step->end());
  }
  target.remove_sequence(1);
  return logits;
}

// Positions where `output` is not the target's greedy choice up to rounding
// in either teacher-forced shape.
int wrong_tokens(runner::LlmRunner& target, const std::vector<int32_t>& prompt,
                 const std::vector<int32_t>& output) {
  const auto vocab = static_cast<size_t>(target.vocab_size());
  const std::vector<double> prefill =
      gaps(teacher_forced(target, prompt, output, false), output, vocab);
  const std::vector<double> decode =
      gaps(teacher_forced(target, prompt, output, true), output, vocab);
  int wrong = 0;
  for (size_t i = 0; i < output.size(); ++i) {
    if (prefill[i] > 0 || decode[i] > 0) {
      std::printf("token %zu of %zu: %.4f (prefill) and %.4f (decode) RMS logits below the best\n",
                  i, output.size(), prefill[i], decode[i]);
    }
    wrong += std::min(prefill[i], decode[i]) > 5e-2;
  }
  return wrong;
}

// Prompts the proposers can guess (a recited passage, then its start again)
// and random ones, 48 greedy tokens each.
std::vector<engine::RequestSpec> make_requests(int num_requests) {
  std::mt19937 rng(5);
  std::vector<engine::RequestSpec> specs;
  for (int i = 0; i < num_requests; ++i) {
    engine::RequestSpec s;
    s.request_id = static_cast<uint64_t>(i + 1);
    s.prompt_ids = i % 2 == 0 ? passage_prompt(rng) : random_prompt(rng);
    s.sampling.temperature = 0.0f;
    s.sampling.max_tokens = 48;
    s.sampling.ignore_eos = true;
    specs.push_back(std::move(s));
  }
  return specs;
}

class CudaSpecTest : public testing::TestWithParam<SpecMethod> {
 protected:
  void SetUp() override {
    if (!backend::cuda_available()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_P(CudaSpecTest, GreedyOutputIsTheTargetsGreedyChoice) {
  const SpeculativeConfig spec = GetParam() == SpecMethod::kNgram ? ngram_config() : draft_config();
  std::unique_ptr<runner::LlmRunner> checker = cuda_target();
  for (int batch : {1, kMaxNumSeqs}) {
    const std::vector<engine::RequestSpec> specs = make_requests(batch);
    scheduler::SpecDecodeStats stats;
    const auto fast = generate(specs, &spec, &stats);
    const auto plain = generate(specs, nullptr, nullptr);
    EXPECT_GT(stats.num_accepted_tokens, 0) << "batch " << batch;
    int identical = 0;
    for (size_t i = 0; i < specs.size(); ++i) {
      ASSERT_EQ(fast[i].size(), 48u);
      EXPECT_EQ(wrong_tokens(*checker, specs[i].prompt_ids, fast[i]), 0)
          << "batch " << batch << " request " << i;
      identical += fast[i] == plain[i];
    }
    std::printf(
        "batch %d: %d of %zu requests identical to plain greedy on CUDA; acceptance %.1f%%\n",
        batch, identical, specs.size(),
        100.0 * static_cast<double>(stats.num_accepted_tokens) /
            static_cast<double>(std::max<int64_t>(stats.num_draft_tokens, 1)));
  }
}

// Speculation configured with the adaptive cut at 4: the batch of 8 runs
// on the target's own path (graph replay, device argmax) until the shorter
// requests finish, then verifies proposals; every token is still the
// target's greedy choice up to rounding. (The last four requests run 8 to
// 32 tokens past the switch, so that n-gram finds its passages on CUDA
// too: with 4 to 16 it found none.)
TEST_P(CudaSpecTest, GreedyAcrossTheAdaptiveSwitchIsTheTargetsGreedyChoice) {
  SpeculativeConfig spec = GetParam() == SpecMethod::kNgram ? ngram_config() : draft_config();
  spec.disable_by_batch_size = 4;
  std::vector<engine::RequestSpec> specs = make_requests(kMaxNumSeqs);
  for (size_t i = 0; i < specs.size(); ++i)
    specs[i].sampling.max_tokens = 16 + 8 * static_cast<int>(i);
  scheduler::SpecDecodeStats stats;
  int64_t num_graph_steps = 0;
  const auto fast = generate(specs, &spec, &stats, &num_graph_steps);
  EXPECT_GT(num_graph_steps, 0);
  EXPECT_GT(stats.num_drafts, 0);
  std::unique_ptr<runner::LlmRunner> checker = cuda_target();
  for (size_t i = 0; i < specs.size(); ++i) {
    ASSERT_EQ(fast[i].size(), static_cast<size_t>(specs[i].sampling.max_tokens));
    EXPECT_EQ(wrong_tokens(*checker, specs[i].prompt_ids, fast[i]), 0) << "request " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Proposers, CudaSpecTest,
                         testing::Values(SpecMethod::kNgram, SpecMethod::kDraftModel),
                         [](const testing::TestParamInfo<SpecMethod>& p) {
                           return p.param == SpecMethod::kNgram ? "Ngram" : "DraftModel";
                         });

}  // namespace
}  // namespace pdserve::spec
