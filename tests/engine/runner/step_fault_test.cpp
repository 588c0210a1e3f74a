// Fault containment in the engine, on the CPU backend with the demo model: a
// step that fails (the runner returns an error, a PD_CHECK fails inside the
// forward pass, a swap to the host tier fails) fails the requests of that
// step with FinishReason::kError; every other request still gets exactly the
// tokens it gets alone, every block (device and host) is free afterwards,
// and the next request succeeds.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engine/engine.h"
#include "engine/runner/llm_runner.h"

namespace pdserve::engine {
namespace {

using runner::StepFault;

const std::filesystem::path kDemo =
    std::filesystem::path(PDSERVE_SOURCE_DIR) / "models" / "pdserve-demo";
constexpr int kNumHostBlocks = 64;

std::unique_ptr<runner::LlmRunner> make_runner(int num_blocks, StepFault fault) {
  runner::LlmRunnerOptions options;
  options.block_size = 16;
  options.num_blocks = num_blocks;
  options.num_host_blocks = kNumHostBlocks;
  options.fault = fault;
  auto r = runner::LlmRunner::load(kDemo, backend::make_cpu_backend(0), options);
  PD_CHECK(r.ok()) << r.status().to_string();
  return std::move(*r);
}

RequestSpec request(uint64_t id, int prompt_len, int max_tokens) {
  RequestSpec s;
  s.request_id = id;
  for (int t = 0; t < prompt_len; ++t)
    s.prompt_ids.push_back(7 + (t * 31 + static_cast<int>(id)) % 3000);
  s.sampling.temperature = 0.0f;
  s.sampling.max_tokens = max_tokens;
  return s;
}

std::vector<RequestSpec> requests(int max_tokens) {
  std::vector<RequestSpec> specs;
  for (uint64_t i = 0; i < 6; ++i) {
    specs.push_back(request(i + 1, 40 + 9 * static_cast<int>(i), max_tokens));
  }
  return specs;
}

std::vector<int32_t> alone(const RequestSpec& spec) {
  auto runner = make_runner(64, StepFault{});
  auto engine = Engine::create(EngineConfig{}, runner.get());
  PD_CHECK(engine.ok());
  auto r = (*engine)->generate({spec});
  PD_CHECK(r.ok()) << r.status().to_string();
  return (*r)[0].token_ids;
}

struct Drill {
  std::string name;
  StepFault fault;
  bool async = false;
  int num_blocks = 64;
  scheduler::PreemptionMode preemption = scheduler::PreemptionMode::kRecompute;
  int max_num_seqs = 2;  // a step holds some of the requests, not all
  int max_tokens = 12;
};

void run_drill(const Drill& drill) {
  SCOPED_TRACE(drill.name);
  auto runner = make_runner(drill.num_blocks, drill.fault);
  EngineConfig config;
  config.async_scheduling = drill.async;
  config.check_invariants_every_step = true;
  config.scheduler.max_num_batched_tokens = 128;
  config.scheduler.preemption_mode = drill.preemption;
  config.scheduler.max_num_seqs = drill.max_num_seqs;
  auto engine = Engine::create(config, runner.get());
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();

  const std::vector<RequestSpec> specs = requests(drill.max_tokens);
  auto results = (*engine)->generate(specs);
  ASSERT_TRUE(results.ok()) << "the engine died: " << results.status().to_string();
  int num_failed = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const GenerateResult& g = (*results)[i];
    if (g.finish_reason == FinishReason::kError) {
      ++num_failed;
      continue;
    }
    EXPECT_EQ(g.token_ids, alone(specs[i])) << "request " << specs[i].request_id;
  }
  EXPECT_GE(num_failed, 1) << "the fault never fired";
  EXPECT_LT(num_failed, static_cast<int>(specs.size())) << "every request failed";

  const scheduler::SchedulerStats stats = (*engine)->stats();
  EXPECT_TRUE((*engine)->check_invariants().ok());
  EXPECT_EQ(stats.num_running + stats.num_waiting, 0);
  EXPECT_EQ(stats.kv.num_free + stats.kv.num_cached_free, drill.num_blocks);
  EXPECT_EQ(stats.kv.num_host_free, kNumHostBlocks);

  // The engine keeps serving: the next request gets its answer.
  const RequestSpec next = request(100, 50, 12);
  auto again = (*engine)->generate({next});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ((*again)[0].token_ids, alone(next));
}

TEST(StepFaultTest, RunnerErrorFailsOnlyThatStep) {
  run_drill({"runner error", StepFault{StepFault::Kind::kError, 3}});
}

TEST(StepFaultTest, RunnerErrorWithAsyncScheduling) {
  run_drill({"runner error, async", StepFault{StepFault::Kind::kError, 3}, /*async=*/true});
}

TEST(StepFaultTest, FailedCheckInTheForwardPassFailsOnlyThatStep) {
  run_drill({"backend check", StepFault{StepFault::Kind::kCheck, 4}});
}

TEST(StepFaultTest, FailedCheckWithAsyncScheduling) {
  run_drill({"backend check, async", StepFault{StepFault::Kind::kCheck, 4}, /*async=*/true});
}

// Three requests that outgrow 10 blocks while decoding: one is swapped out,
// and that swap fails.
TEST(StepFaultTest, SwapFailureFailsTheSwappedRequests) {
  run_drill({"swap failure", StepFault{StepFault::Kind::kSwap, 1}, /*async=*/false,
             /*num_blocks=*/10, scheduler::PreemptionMode::kSwap, /*max_num_seqs=*/3,
             /*max_tokens=*/40});
}

TEST(StepFaultTest, ParsesTheEnvironmentSyntax) {
  auto f = runner::parse_step_fault("check:7");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, StepFault::Kind::kCheck);
  EXPECT_EQ(f->at, 7);
  for (const char* bad : {"", "check", "check:0", "check:-1", "boom:1", "swap:1x"}) {
    EXPECT_FALSE(runner::parse_step_fault(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace pdserve::engine
