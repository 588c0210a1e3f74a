// The runner sampling on the GPU (DeviceSampler over CUDA sample_rows) on
// the demo model, for a batch that mixes every sampling parameter: seeded
// sequences draw the same tokens when the batch comes in another order, and
// logprobs come back as asked. Skipped without a GPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "engine/runner/llm_runner.h"

namespace pdserve::runner {
namespace {

const std::filesystem::path kDemo =
    std::filesystem::path(PDSERVE_SOURCE_DIR) / "models" / "pdserve-demo";
constexpr int kSeqs = 8, kSteps = 12, kBlocksPerSeq = 4;

std::vector<SamplingParams> mixed_params() {
  std::vector<SamplingParams> ps(kSeqs);
  for (int i = 0; i < kSeqs; ++i) {
    ps[static_cast<size_t>(i)].seed = 1000 + static_cast<uint64_t>(i);
    ps[static_cast<size_t>(i)].temperature = 0.9f;
  }
  ps[0].top_p = 0.9f;
  ps[1].top_k = 20;
  ps[2].min_p = 0.1f;
  ps[3].repetition_penalty = 1.3f;
  ps[3].frequency_penalty = 0.5f;
  ps[3].presence_penalty = 0.2f;
  ps[4].num_logprobs = 3;
  ps[5].min_tokens = 6;
  ps[6].temperature = 0.0f;
  ps[6].num_logprobs = 0;
  ps[7].top_k = 50;
  ps[7].top_p = 0.8f;
  ps[7].min_p = 0.02f;
  ps[7].repetition_penalty = 1.1f;
  return ps;
}

// Generates kSteps tokens per sequence with the batch in `order`; the
// tokens of each sequence, by its index.
std::map<int, std::vector<SampledToken>> generate(const std::vector<int>& order) {
  auto be = backend::make_cuda_backend(0);
  PD_CHECK(be.ok()) << be.status().to_string();
  LlmRunnerOptions options;
  options.num_blocks = kSeqs * kBlocksPerSeq;
  auto runner = LlmRunner::load(kDemo, std::move(*be), options);
  PD_CHECK(runner.ok()) << runner.status().to_string();
  LlmRunner& r = **runner;
  const std::vector<SamplingParams> params = mixed_params();
  StepBatch batch;
  for (int i : order) {
    SequenceInfo info;
    info.seq_id = static_cast<uint64_t>(i) + 1;
    info.sampling = params[static_cast<size_t>(i)];
    for (int t = 0; t < 10 + i; ++t) info.prompt_ids.push_back(100 + 37 * t + i);
    PD_CHECK(r.add_sequence(info).ok());
    SeqStep s{info.seq_id, info.prompt_ids, 0, {}, true};
    for (int b = 0; b < kBlocksPerSeq; ++b) s.block_table.push_back(i * kBlocksPerSeq + b);
    batch.seqs.push_back(std::move(s));
  }
  std::map<int, std::vector<SampledToken>> out;
  for (int step = 0; step <= kSteps; ++step) {
    auto result = r.execute(batch);
    PD_CHECK(result.ok()) << result.status().to_string();
    for (const SampledToken& t : result->sampled) out[static_cast<int>(t.seq_id) - 1].push_back(t);
    for (SeqStep& s : batch.seqs) {
      s.num_computed += static_cast<int32_t>(s.input_ids.size());
      s.input_ids = {kLastSampled};
    }
  }
  return out;
}

TEST(CudaSamplingRunnerTest, SeededTokensDoNotDependOnTheBatchOrder) {
  if (!backend::cuda_available()) GTEST_SKIP() << "no CUDA device";
  std::vector<int> forward, backward;
  for (int i = 0; i < kSeqs; ++i) {
    forward.push_back(i);
    backward.insert(backward.begin(), i);
  }
  const auto a = generate(forward), b = generate(backward);
  const std::vector<SamplingParams> params = mixed_params();
  for (int i = 0; i < kSeqs; ++i) {
    const auto& ta = a.at(i);
    const auto& tb = b.at(i);
    ASSERT_EQ(ta.size(), static_cast<size_t>(kSteps + 1));
    ASSERT_EQ(tb.size(), ta.size());
    for (size_t k = 0; k < ta.size(); ++k) {
      EXPECT_EQ(ta[k].token_id, tb[k].token_id) << "sequence " << i << " token " << k;
      const int n = params[static_cast<size_t>(i)].num_logprobs;
      if (n < 0) continue;
      EXPECT_LE(ta[k].logprob, 0.0f);
      ASSERT_EQ(ta[k].top.size(), static_cast<size_t>(n));
      if (n > 0) {
        EXPECT_GE(ta[k].top[0].logprob, ta[k].logprob);
      }
    }
  }
}

}  // namespace
}  // namespace pdserve::runner
