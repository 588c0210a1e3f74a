// The engine on the GPU (bf16) against the Hugging Face fixtures (fp32):
// every prompt's top-1 token agrees and its logits are within bf16
// tolerance; teacher-forced along HF's greedy continuation, the top-1 agrees
// at 99% or more of the positions over all fixtures. Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/runner/llm_runner.h"

namespace pdserve::runner {
namespace {

namespace fs = std::filesystem;

int32_t argmax(const float* v, size_t n) {
  return static_cast<int32_t>(std::max_element(v, v + n) - v);
}

TEST(CudaFidelityTest, TopOneAgreesWithHuggingFace) {
  if (!backend::cuda_available()) GTEST_SKIP() << "no CUDA device";
  const fs::path root = fs::path(PDSERVE_SOURCE_DIR) / "tests" / "fixtures";
  int positions = 0, agree = 0, fixtures = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!fs::exists(entry.path() / "fixture.json")) continue;
    ++fixtures;
    std::ifstream in(entry.path() / "fixture.json");
    nlohmann::json fx = nlohmann::json::parse(in);
    const fs::path model_dir =
        fx.contains("model_dir") ? fs::path(PDSERVE_SOURCE_DIR) / fx["model_dir"].get<std::string>()
                                 : entry.path();
    auto be = backend::make_cuda_backend(0);
    ASSERT_TRUE(be.ok()) << be.status().to_string();
    LlmRunnerOptions options;
    options.num_blocks = 256;
    auto runner = LlmRunner::load(model_dir, std::move(*be), options);
    ASSERT_TRUE(runner.ok()) << runner.status().to_string();
    LlmRunner& r = **runner;
    const size_t vocab = static_cast<size_t>(r.config().vocab_size);
    uint64_t seq_id = 0;
    for (const auto& c : fx["cases"]) {
      std::vector<int32_t> prompt = c["prompt_ids"].get<std::vector<int32_t>>();
      std::vector<int32_t> greedy = c["greedy_ids"].get<std::vector<int32_t>>();
      ASSERT_TRUE(r.add_sequence({++seq_id, prompt, SamplingParams{}, {}}).ok());
      // Teacher forcing: the prompt plus HF's continuation in one prefill,
      // then the logits at every continuation position, one decode at a time.
      SeqStep step{seq_id, prompt, 0, {}, true};
      for (int b = 0; b < 16; ++b) step.block_table.push_back(b);
      auto logits = r.compute_logits(StepBatch{{}, {}, {step}});
      ASSERT_TRUE(logits.ok()) << logits.status().to_string();
      const auto& ids = c["top_logits"]["ids"];
      const auto& values = c["top_logits"]["values"];
      double num = 0, den = 0;
      for (size_t i = 0; i < ids.size(); ++i) {
        const double hf = values[i].get<double>(), ours = (*logits)[ids[i].get<size_t>()];
        num += (ours - hf) * (ours - hf);
        den += hf * hf;
      }
      EXPECT_LT(std::sqrt(num / den), 3e-2) << entry.path().filename() << " case " << seq_id;
      EXPECT_EQ(argmax(logits->data(), vocab), ids[0].get<int32_t>()) << entry.path().filename();
      for (size_t k = 0; k + 1 < greedy.size(); ++k) {
        step.num_computed += static_cast<int32_t>(step.input_ids.size());
        step.input_ids = {greedy[k]};
        auto next = r.compute_logits(StepBatch{{}, {}, {step}});
        ASSERT_TRUE(next.ok()) << next.status().to_string();
        ++positions;
        agree += argmax(next->data(), vocab) == greedy[k + 1];
      }
      r.remove_sequence(seq_id);
    }
  }
  EXPECT_GE(fixtures, 8);
  ASSERT_GT(positions, 0);
  const double rate = static_cast<double>(agree) / positions;
  std::printf("teacher-forced top-1 agreement on the GPU: %d / %d = %.4f\n", agree, positions,
              rate);
  EXPECT_GE(rate, 0.99);
}

}  // namespace
}  // namespace pdserve::runner
