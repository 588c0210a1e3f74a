// A prompt longer than --max-num-batched-tokens, alone in the engine: its
// first steps sample nothing (every token is mid-prompt), which once divided
// by zero in gather_rows and killed the worker. Chunked, it must give the
// greedy answer of the same prompt prefilled in one step, and free every
// block. On the CPU backend and, where a GPU exists, on CUDA.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>

#include "engine/engine.h"
#include "engine/runner/llm_runner.h"

namespace pdserve::engine {
namespace {

const std::filesystem::path kDemo =
    std::filesystem::path(PDSERVE_SOURCE_DIR) / "models" / "pdserve-demo";

std::vector<int32_t> greedy(bool cuda, int max_num_batched_tokens) {
  Result<std::unique_ptr<backend::Backend>> be =
      cuda ? backend::make_cuda_backend(0)
           : Result<std::unique_ptr<backend::Backend>>(backend::make_cpu_backend(0));
  PD_CHECK(be.ok()) << be.status().to_string();
  runner::LlmRunnerOptions options;
  options.block_size = 16;
  options.num_blocks = 64;
  auto runner = runner::LlmRunner::load(kDemo, std::move(*be), options);
  PD_CHECK(runner.ok()) << runner.status().to_string();
  EngineConfig config;
  config.scheduler.max_num_batched_tokens = max_num_batched_tokens;
  auto engine = Engine::create(config, runner->get());
  PD_CHECK(engine.ok()) << engine.status().to_string();
  RequestSpec spec;
  spec.request_id = 1;
  spec.prompt_ids.resize(40);
  std::iota(spec.prompt_ids.begin(), spec.prompt_ids.end(),
            10);  // ids 10..49, as the reproduction
  spec.sampling.temperature = 0.0f;
  spec.sampling.max_tokens = 8;
  auto results = (*engine)->generate({spec});
  EXPECT_TRUE(results.ok()) << results.status().to_string();
  if (!results.ok()) return {};
  EXPECT_TRUE((*engine)->check_invariants().ok());
  EXPECT_EQ((*engine)->stats().num_running, 0);
  return (*results)[0].token_ids;
}

void check_backend(bool cuda) {
  const std::vector<int32_t> whole = greedy(cuda, 2048);
  ASSERT_EQ(whole.size(), 8u);
  for (int budget : {39, 16, 7}) EXPECT_EQ(greedy(cuda, budget), whole) << "budget " << budget;
}

TEST(LongPromptTest, PromptLongerThanTheTokenBudgetOnCpu) {
  check_backend(false);
}

TEST(LongPromptTest, PromptLongerThanTheTokenBudgetOnCuda) {
  if (!backend::cuda_available()) GTEST_SKIP() << "no CUDA device";
  check_backend(true);
}

}  // namespace
}  // namespace pdserve::engine
