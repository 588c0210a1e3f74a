// The CPU engine against Hugging Face transformers (fp32 compute on both
// sides): for every tests/fixtures/<name>/fixture.json written by
// tools/make_hf_fixtures.py on the GPU machine, the last-position logits of
// each prompt (HF's top 64) within 1e-3 relative error, and the greedy
// 32-token continuation identical.
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

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  fs::path root = fs::path(PDSERVE_SOURCE_DIR) / "tests" / "fixtures";
  if (!fs::exists(root)) return names;
  for (const auto& e : fs::directory_iterator(root))
    if (fs::exists(e.path() / "fixture.json")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class HfFidelityTest : public ::testing::TestWithParam<std::string> {};

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

TEST_P(HfFidelityTest, LogitsAndGreedyContinuationMatch) {
  const fs::path dir = fs::path(PDSERVE_SOURCE_DIR) / "tests" / "fixtures" / GetParam();
  std::ifstream in(dir / "fixture.json");
  nlohmann::json fx = nlohmann::json::parse(in);
  const fs::path model_dir = fx.contains("model_dir")
                                 ? fs::path(PDSERVE_SOURCE_DIR) / fx["model_dir"].get<std::string>()
                                 : dir;

  LlmRunnerOptions options;
  options.block_size = 4;  // small blocks: many block boundaries inside each prompt
  options.num_blocks = 512;
  auto runner = LlmRunner::load(model_dir, backend::make_cpu_backend(2), options);
  ASSERT_TRUE(runner.ok()) << runner.status().to_string();
  LlmRunner& r = **runner;

  uint64_t seq_id = 0;
  for (const auto& c : fx["cases"]) {
    ++seq_id;
    std::vector<int32_t> prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    std::vector<int32_t> want = c["greedy_ids"].get<std::vector<int32_t>>();
    ASSERT_TRUE(r.add_sequence({seq_id, prompt, SamplingParams{}, {}}).ok());
    SeqStep step{seq_id, prompt, 0, {}, true};
    const size_t total = prompt.size() + want.size();
    for (size_t b = 0; b < (total + 3) / 4; ++b)
      step.block_table.push_back(static_cast<int32_t>(b));

    auto logits = r.compute_logits(StepBatch{{}, {}, {step}});
    ASSERT_TRUE(logits.ok()) << logits.status().to_string();
    const auto& ids = c["top_logits"]["ids"];
    const auto& values = c["top_logits"]["values"];
    double num = 0, den = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      double hf = values[i].get<double>(), ours = (*logits)[ids[i].get<size_t>()];
      num += (ours - hf) * (ours - hf);
      den += hf * hf;
    }
    EXPECT_LE(std::sqrt(num / den), 1e-3)
        << GetParam() << " case " << seq_id << " (" << prompt.size() << " prompt tokens)";

    std::vector<int32_t> got{argmax(*logits)};
    while (got.size() < want.size()) {
      step.num_computed += static_cast<int32_t>(step.input_ids.size());
      step.input_ids = {got.back()};
      auto next = r.compute_logits(StepBatch{{}, {}, {step}});
      ASSERT_TRUE(next.ok()) << next.status().to_string();
      got.push_back(argmax(*next));
    }
    EXPECT_EQ(got, want) << GetParam() << " case " << seq_id;
    r.remove_sequence(seq_id);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfFidelityTest, ::testing::ValuesIn(fixture_names()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           std::replace_if(
                               n.begin(), n.end(), [](char ch) { return !std::isalnum(ch); }, '_');
                           return n;
                         });

// The fixtures are committed: their absence is a failure, not a skip.
TEST(HfFidelityFixturesTest, EveryArchitectureHasAFixture) {
  std::vector<std::string> names = fixture_names();
  for (const char* want : {"demo", "llama3", "mistral", "qwen2", "qwen3", "mha", "mqa", "sharded"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
}

}  // namespace
}  // namespace pdserve::runner
