// Helpers for the engine facade tests: deterministic requests, a reference
// output per request (run alone on a roomy engine), the all-free check.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "common/base/logging.h"
#include "engine/engine.h"
#include "tests/engine/scheduler/fake_model_runner.h"

namespace pdserve::engine {

using testing::FakeModelRunner;
using testing::FakeRunnerOptions;

// Prompt tokens from `seed`; the first shared_prefix_len come from one fixed
// seed, so requests with a prefix share it.
inline RequestSpec make_spec(uint64_t id, int prompt_len, int max_tokens, int shared_prefix_len = 0) {
  RequestSpec s;
  s.request_id = id;
  std::mt19937 shared(7), own(static_cast<uint32_t>(id * 7919 + 1));
  for (int i = 0; i < prompt_len; ++i) {
    s.prompt_ids.push_back(static_cast<int32_t>((i < shared_prefix_len ? shared() : own()) % 900));
  }
  s.sampling.temperature = 0.0f;
  s.sampling.max_tokens = max_tokens;
  s.sampling.ignore_eos = true;
  return s;
}

// 64 requests of 1..40 prompt tokens and 1..24 new ones.
inline std::vector<RequestSpec> make_mix(int num, int shared_prefix_len, uint32_t seed = 11) {
  std::mt19937 rng(seed);
  std::vector<RequestSpec> out;
  for (int i = 0; i < num; ++i) {
    const int prompt_len = 1 + static_cast<int>(rng() % 40);
    const int max_tokens = 1 + static_cast<int>(rng() % 24);
    out.push_back(make_spec(100 + i, prompt_len, max_tokens,
                            std::min(prompt_len, shared_prefix_len)));
    out.back().priority = static_cast<int>(rng() % 3);
  }
  return out;
}

struct Rig {
  explicit Rig(FakeRunnerOptions runner_options, EngineConfig config = {})
      : runner(std::make_unique<FakeModelRunner>(runner_options)) {
    config.check_invariants_every_step = true;
    Result<std::unique_ptr<Engine>> e = Engine::create(config, runner.get());
    PD_CHECK(e.ok()) << e.status().to_string();
    engine = std::move(e).value();
  }
  std::unique_ptr<FakeModelRunner> runner;
  std::unique_ptr<Engine> engine;
};

// The request's tokens when it is the only one, on a roomy engine.
inline std::vector<int32_t> run_alone(const RequestSpec& spec, FakeRunnerOptions opt = {}) {
  opt.num_blocks = 256;
  opt.num_host_blocks = 0;
  Rig rig(opt);
  Result<std::vector<GenerateResult>> r = rig.engine->generate({spec});
  PD_CHECK(r.ok()) << r.status().to_string();
  return (*r)[0].token_ids;
}

// Nothing held but evictable cache, nothing known to the runner.
inline void expect_all_free(Rig& rig) {
  EXPECT_FALSE(rig.engine->has_unfinished());
  scheduler::SchedulerStats s = rig.engine->stats();
  EXPECT_EQ(s.kv.num_referenced, 0);
  EXPECT_EQ(s.kv.num_free + s.kv.num_cached_free, s.kv.num_blocks);
  EXPECT_EQ(s.kv.num_host_free, s.kv.num_host_blocks);
  EXPECT_EQ(s.num_waiting + s.num_running + s.num_remote_kv + s.num_pinned, 0);
  EXPECT_EQ(rig.runner->num_sequences(), 0);
  EXPECT_TRUE(rig.runner->violations().empty()) << rig.runner->violations().front();
  EXPECT_TRUE(rig.engine->check_invariants().ok()) << rig.engine->check_invariants().to_string();
}

// Steps until idle, collecting tokens per request.
inline void run_to_end(Rig& rig, std::map<uint64_t, std::vector<int32_t>>* tokens,
                       std::map<uint64_t, FinishReason>* reasons = nullptr) {
  for (int i = 0; i < 100000 && rig.engine->has_unfinished(); ++i) {
    Result<std::vector<RequestOutput>> outs = rig.engine->step();
    ASSERT_TRUE(outs.ok()) << outs.status().to_string();
    for (const RequestOutput& o : *outs) {
      for (const auto& t : o.new_tokens) (*tokens)[o.request_id].push_back(t.token_id);
      if (o.finished && reasons) (*reasons)[o.request_id] = o.finish_reason;
    }
  }
}

}  // namespace pdserve::engine
