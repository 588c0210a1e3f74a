// Helpers for the engine facade tests: deterministic requests, a reference
// output per request (run alone on a roomy engine), the all-free check.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "engine/engine.h"
#include "tests/engine/scheduler/fake_model_runner.h"

namespace pdserve::engine {

using testing::FakeModelRunner;
using testing::FakeRunnerOptions;

// Prompt tokens from `seed`; the first shared_prefix_len come from one fixed
// seed, so requests with a prefix share it.
inline RequestSpec make_spec(uint64_t id, int prompt_len, int max_tokens,
                             int shared_prefix_len = 0) {
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
    out.push_back(
        make_spec(100 + i, prompt_len, max_tokens, std::min(prompt_len, shared_prefix_len)));
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

// What a streaming client sees: tokens and finish reason per request.
struct Collected {
  std::map<uint64_t, std::vector<int32_t>> tokens;
  std::map<uint64_t, FinishReason> reasons;

  void add(const std::vector<RequestOutput>& outputs) {
    for (const RequestOutput& o : outputs) {
      for (const auto& t : o.new_tokens) tokens[o.request_id].push_back(t.token_id);
      if (o.finished) reasons[o.request_id] = o.finish_reason;
    }
  }
};

// One step, collected.
inline void step_into(Rig& rig, Collected* out) {
  Result<std::vector<RequestOutput>> outs = rig.engine->step();
  ASSERT_TRUE(outs.ok()) << outs.status().to_string();
  out->add(*outs);
}

// Steps until idle.
inline void run_to_end(Rig& rig, Collected* out) {
  for (int i = 0; i < 100000 && rig.engine->has_unfinished(); ++i) step_into(rig, out);
}

// Every request ended; the aborted ones with a prefix of their output
// alone, the others with exactly it.
inline void expect_matches_alone(const std::vector<RequestSpec>& specs, const Collected& got,
                                 const std::set<uint64_t>& aborted) {
  for (const RequestSpec& s : specs) {
    const std::vector<int32_t> ref = run_alone(s);
    auto it = got.tokens.find(s.request_id);
    const std::vector<int32_t> tokens =
        it == got.tokens.end() ? std::vector<int32_t>{} : it->second;
    ASSERT_TRUE(got.reasons.contains(s.request_id)) << "request " << s.request_id << " never ended";
    if (aborted.contains(s.request_id)) {
      EXPECT_EQ(got.reasons.at(s.request_id), FinishReason::kAbort);
      ASSERT_LE(tokens.size(), ref.size());
      EXPECT_TRUE(std::equal(tokens.begin(), tokens.end(), ref.begin()))
          << "request " << s.request_id;
    } else {
      EXPECT_EQ(tokens, ref) << "request " << s.request_id;
    }
  }
}

// Tests run with async scheduling off and on.
class AsyncParamTest : public ::testing::TestWithParam<bool> {
 protected:
  EngineConfig config() const {
    EngineConfig c;
    c.async_scheduling = GetParam();
    return c;
  }
};

inline std::string async_name(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "async" : "sync";
}

}  // namespace pdserve::engine
