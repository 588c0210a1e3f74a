// The engine with the real runner on the demo model: 64 concurrent requests
// of mixed lengths give exactly the greedy outputs of each request run
// alone, with chunked prefill, with async scheduling, and under KV pressure
// (preemption), and the engine ends with every block free.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "engine/engine.h"
#include "engine/runner/llm_runner.h"

namespace pdserve::engine {
namespace {

const std::filesystem::path kDemo =
    std::filesystem::path(PDSERVE_SOURCE_DIR) / "models" / "pdserve-demo";

std::unique_ptr<runner::LlmRunner> make_runner(int num_blocks) {
  runner::LlmRunnerOptions options;
  options.block_size = 16;
  options.num_blocks = num_blocks;
  options.num_host_blocks = 64;
  auto r = runner::LlmRunner::load(kDemo, backend::make_cpu_backend(0), options);
  PD_CHECK(r.ok()) << r.status().to_string();
  return std::move(*r);
}

std::vector<RequestSpec> make_requests() {
  std::mt19937 rng(7);
  std::vector<RequestSpec> specs;
  for (uint64_t i = 0; i < 64; ++i) {
    RequestSpec s;
    s.request_id = i + 1;
    const int len = 3 + static_cast<int>(rng() % 110);
    for (int t = 0; t < len; ++t) s.prompt_ids.push_back(5 + static_cast<int32_t>(rng() % 4000));
    if (i % 8 == 0)
      s.prompt_ids.resize(
          std::min<size_t>(s.prompt_ids.size(), 40));  // shared-looking prefixes below
    if (i % 4 == 1)
      s.prompt_ids.insert(s.prompt_ids.begin(), specs[0].prompt_ids.begin(),
                          specs[0].prompt_ids.end());
    s.sampling.temperature = 0.0f;
    s.sampling.max_tokens = 4 + static_cast<int>(rng() % 13);
    specs.push_back(std::move(s));
  }
  return specs;
}

std::vector<std::vector<int32_t>> run_together(EngineConfig config, int num_blocks,
                                               std::vector<RequestSpec> specs) {
  auto runner = make_runner(num_blocks);
  auto engine = Engine::create(config, runner.get());
  PD_CHECK(engine.ok()) << engine.status().to_string();
  auto results = (*engine)->generate(std::move(specs));
  PD_CHECK(results.ok()) << results.status().to_string();
  EXPECT_TRUE((*engine)->check_invariants().ok());
  const scheduler::SchedulerStats stats = (*engine)->stats();
  EXPECT_EQ(stats.num_running, 0);
  EXPECT_EQ(stats.num_waiting, 0);
  std::vector<std::vector<int32_t>> out;
  for (const GenerateResult& g : *results) out.push_back(g.token_ids);
  return out;
}

TEST(EngineOnDemoTest, ConcurrentRequestsMatchEachRunAlone) {
  const std::vector<RequestSpec> specs = make_requests();
  std::vector<std::vector<int32_t>> alone;
  {
    auto runner = make_runner(512);
    EngineConfig config;
    config.scheduler.enable_prefix_caching = false;
    auto engine = Engine::create(config, runner.get());
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    for (const RequestSpec& s : specs) {
      auto r = (*engine)->generate({s});
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      alone.push_back((*r)[0].token_ids);
      ASSERT_EQ(static_cast<int>(alone.back().size()) <= s.sampling.max_tokens, true);
    }
  }

  EngineConfig chunked;
  chunked.scheduler.max_num_seqs = 64;
  chunked.scheduler.max_num_batched_tokens = 96;  // long prompts are split into chunks
  EXPECT_EQ(run_together(chunked, 1024, specs), alone) << "chunked prefill, prefix caching";

  EngineConfig async = chunked;
  async.async_scheduling = true;
  EXPECT_EQ(run_together(async, 1024, specs), alone) << "async scheduling";

  EngineConfig tight = chunked;
  tight.scheduler.max_num_batched_tokens = 256;
  EXPECT_EQ(run_together(tight, 60, specs), alone) << "preemption (recompute) under KV pressure";

  tight.scheduler.preemption_mode = scheduler::PreemptionMode::kSwap;
  EXPECT_EQ(run_together(tight, 60, specs), alone) << "preemption (swap to the host tier)";
}

}  // namespace
}  // namespace pdserve::engine
