// Abort at every point of a request's life, and abort storms under
// preemption: everything the request held is freed, the others' outputs do
// not change, and the engine returns to all-free.
#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "engine/engine.h"
#include "tests/engine/scheduler/engine_test_util.h"

namespace pdserve::engine {
namespace {

using scheduler::RequestState;

struct AbortCase {
  std::string name;
  int num_blocks = 256;
  int num_host_blocks = 0;
  int max_num_batched_tokens = 2048;
  int max_num_seqs = 256;
  scheduler::PreemptionMode mode = scheduler::PreemptionMode::kRecompute;
  RequestState target = RequestState::kWaiting;  // abort the first request seen in it
  bool after_tokens = false;                     // ... that already produced tokens
  bool before_tokens = false;                    // ... that produced none yet
};

void PrintTo(const AbortCase& c, std::ostream* os) {
  *os << c.name;
}

class AbortTest : public ::testing::TestWithParam<std::tuple<AbortCase, bool>> {};

// Runs `specs`, aborting one request as soon as one is in the target state;
// checks outputs against each request alone.
TEST_P(AbortTest, AbortFreesEverythingAndLeavesOthersUnchanged) {
  const auto& [c, async] = GetParam();
  FakeRunnerOptions opt;
  opt.num_blocks = c.num_blocks;
  opt.num_host_blocks = c.num_host_blocks;
  EngineConfig config;
  config.async_scheduling = async;
  config.scheduler.max_num_batched_tokens = c.max_num_batched_tokens;
  config.scheduler.max_num_seqs = c.max_num_seqs;
  config.scheduler.preemption_mode = c.mode;
  Rig rig(opt, config);
  std::vector<RequestSpec> specs = make_mix(24, 8, /*seed=*/5);
  for (const auto& s : specs) ASSERT_TRUE(rig.engine->add_request(s).ok());
  Collected got;
  std::optional<uint64_t> aborted;
  for (int i = 0; i < 10000 && rig.engine->has_unfinished(); ++i) {
    for (const auto& s : specs) {
      if (aborted) break;
      const bool has_tokens = got.tokens.contains(s.request_id);
      if (rig.engine->request_state(s.request_id) == c.target && (!c.after_tokens || has_tokens) &&
          (!c.before_tokens || !has_tokens)) {
        ASSERT_TRUE(rig.engine->abort(s.request_id).ok());
        aborted = s.request_id;
      }
    }
    step_into(rig, &got);
  }
  ASSERT_TRUE(aborted.has_value())
      << "no request reached " << scheduler::request_state_name(c.target);
  expect_matches_alone(specs, got, {*aborted});
  expect_all_free(rig);
}

std::vector<AbortCase> abort_cases() {
  using M = scheduler::PreemptionMode;
  return {
      {.name = "waiting", .max_num_seqs = 2, .target = RequestState::kWaiting},
      {.name = "prefilling",
       .max_num_batched_tokens = 6,
       .target = RequestState::kRunning,
       .before_tokens = true},
      {.name = "decoding", .target = RequestState::kRunning, .after_tokens = true},
      {.name = "preempted",
       .num_blocks = 16,
       .target = RequestState::kWaiting,
       .after_tokens = true},
      {.name = "swapped",
       .num_blocks = 16,
       .num_host_blocks = 64,
       .mode = M::kSwap,
       .target = RequestState::kSwapped},
  };
}

INSTANTIATE_TEST_SUITE_P(Engine, AbortTest,
                         ::testing::Combine(::testing::ValuesIn(abort_cases()), ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param).name +
                                  (std::get<1>(info.param) ? "_async" : "_sync");
                         });

class AbortStormTest
    : public ::testing::TestWithParam<std::tuple<scheduler::PreemptionMode, bool>> {};

TEST_P(AbortStormTest, SurvivorsMatchAloneAndEverythingIsFreed) {
  const auto& [mode, async] = GetParam();
  FakeRunnerOptions opt;
  opt.num_blocks = 24;
  opt.num_host_blocks = 32;
  EngineConfig config;
  config.async_scheduling = async;
  config.scheduler.max_num_batched_tokens = 24;
  config.scheduler.preemption_mode = mode;
  Rig rig(opt, config);
  std::vector<RequestSpec> specs = make_mix(64, 12, /*seed=*/3);
  for (const auto& s : specs) ASSERT_TRUE(rig.engine->add_request(s).ok());
  Collected got;
  std::set<uint64_t> aborted;
  for (int step = 0; step < 10000 && rig.engine->has_unfinished(); ++step) {
    for (const auto& s : specs) {
      if ((s.request_id * 31 + step * 17) % 97 != 0 || got.reasons.contains(s.request_id)) continue;
      if (rig.engine->abort(s.request_id).ok()) aborted.insert(s.request_id);
    }
    step_into(rig, &got);
  }
  EXPECT_GT(aborted.size(), 5u);
  EXPECT_GT(rig.engine->stats().num_preemptions, 0);
  expect_matches_alone(specs, got, aborted);
  expect_all_free(rig);
}

INSTANTIATE_TEST_SUITE_P(Engine, AbortStormTest,
                         ::testing::Combine(::testing::Values(scheduler::PreemptionMode::kRecompute,
                                                              scheduler::PreemptionMode::kSwap),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ==
                                                      scheduler::PreemptionMode::kSwap
                                                  ? "swap"
                                                  : "recompute") +
                                  (std::get<1>(info.param) ? "_async" : "_sync");
                         });

}  // namespace
}  // namespace pdserve::engine
