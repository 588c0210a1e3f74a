// The engine facade over the strict fake runner: many concurrent requests
// give exactly the outputs each gives alone, under chunking, prefix sharing,
// preemption (recompute and swap) and async scheduling; stop conditions;
// failures; generate().
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

#include "tests/engine/scheduler/engine_test_util.h"

namespace pdserve::engine {
namespace {

struct Scenario {
  std::string name;
  int num_blocks = 256;
  int num_host_blocks = 0;
  int max_num_batched_tokens = 2048;
  int max_num_seqs = 256;
  int shared_prefix_len = 0;
  scheduler::PreemptionMode mode = scheduler::PreemptionMode::kRecompute;
  bool async = false;
  bool expect_preemption = false;
};

void PrintTo(const Scenario& s, std::ostream* os) {
  *os << s.name;
}

class ConcurrencyTest : public ::testing::TestWithParam<Scenario> {};

const std::map<uint64_t, std::vector<int32_t>>& reference(int shared_prefix_len) {
  static std::map<int, std::map<uint64_t, std::vector<int32_t>>> cache;
  auto& ref = cache[shared_prefix_len];
  if (ref.empty()) {
    for (const RequestSpec& s : make_mix(64, shared_prefix_len)) ref[s.request_id] = run_alone(s);
  }
  return ref;
}

TEST_P(ConcurrencyTest, SixtyFourRequestsMatchEachAlone) {
  const Scenario& sc = GetParam();
  FakeRunnerOptions opt;
  opt.num_blocks = sc.num_blocks;
  opt.num_host_blocks = sc.num_host_blocks;
  EngineConfig config;
  config.async_scheduling = sc.async;
  config.scheduler.max_num_batched_tokens = sc.max_num_batched_tokens;
  config.scheduler.max_num_seqs = sc.max_num_seqs;
  config.scheduler.preemption_mode = sc.mode;
  Rig rig(opt, config);
  std::vector<RequestSpec> specs = make_mix(64, sc.shared_prefix_len);
  Result<std::vector<GenerateResult>> results = rig.engine->generate(specs);
  ASSERT_TRUE(results.ok()) << results.status().to_string();
  const auto& ref = reference(sc.shared_prefix_len);
  for (const GenerateResult& r : *results) {
    EXPECT_EQ(r.token_ids, ref.at(r.request_id)) << "request " << r.request_id;
    EXPECT_EQ(r.finish_reason, FinishReason::kLength);
  }
  scheduler::SchedulerStats st = rig.engine->stats();
  if (sc.expect_preemption) {
    EXPECT_GT(st.num_preemptions, 0);
  }
  if (sc.shared_prefix_len > 0) {
    EXPECT_GT(st.prefix_cache.num_hit_tokens, 0);
  }
  if (sc.mode == scheduler::PreemptionMode::kSwap) {
    int num_swaps = 0;
    for (const auto& b : rig.runner->batches()) num_swaps += static_cast<int>(b.swap_in.size());
    EXPECT_GT(num_swaps, 0);
  }
  expect_all_free(rig);
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> base = {
      {.name = "roomy"},
      {.name = "chunked", .max_num_batched_tokens = 16},
      {.name = "few_seqs", .max_num_seqs = 5},
      {.name = "prefix_shared", .shared_prefix_len = 24},
      {.name = "recompute", .num_blocks = 24, .expect_preemption = true},
      {.name = "recompute_chunked_shared",
       .num_blocks = 24,
       .max_num_batched_tokens = 12,
       .shared_prefix_len = 16,
       .expect_preemption = true},
      {.name = "swap",
       .num_blocks = 24,
       .num_host_blocks = 64,
       .mode = scheduler::PreemptionMode::kSwap,
       .expect_preemption = true},
      {.name = "swap_small_host",
       .num_blocks = 20,
       .num_host_blocks = 10,
       .max_num_batched_tokens = 10,
       .shared_prefix_len = 8,
       .mode = scheduler::PreemptionMode::kSwap,
       .expect_preemption = true},
  };
  std::vector<Scenario> out;
  for (Scenario s : base) {
    out.push_back(s);
    s.name += "_async";
    s.async = true;
    out.push_back(s);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Engine, ConcurrencyTest, ::testing::ValuesIn(scenarios()),
                         [](const auto& info) { return info.param.name; });

using EngineTest = AsyncParamTest;

TEST_P(EngineTest, EosStopsUnlessIgnored) {
  RequestSpec s = make_spec(1, 9, 12);
  const std::vector<int32_t> ref = run_alone(s);
  FakeRunnerOptions opt;
  opt.eos_token_ids = {ref[4]};
  {
    Rig rig(opt, config());
    s.sampling.ignore_eos = false;
    auto r = rig.engine->generate({s});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].token_ids, std::vector<int32_t>(ref.begin(), ref.begin() + 5));
    EXPECT_EQ((*r)[0].finish_reason, FinishReason::kStop);
    EXPECT_EQ((*r)[0].stop_token_id, ref[4]);
    expect_all_free(rig);
  }
  {
    Rig rig(opt, config());
    s.sampling.ignore_eos = true;
    auto r = rig.engine->generate({s});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].token_ids, ref);
    EXPECT_EQ((*r)[0].finish_reason, FinishReason::kLength);
  }
}

TEST_P(EngineTest, StopTokenIdsAndMinTokens) {
  RequestSpec s = make_spec(1, 9, 12);
  const std::vector<int32_t> ref = run_alone(s);
  Rig rig({}, config());
  RequestSpec stop = s;
  stop.sampling.stop_token_ids = {ref[2]};
  RequestSpec held = stop;
  held.request_id = 2;
  held.sampling.min_tokens = 4;
  auto r = rig.engine->generate({stop, held});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].token_ids, std::vector<int32_t>(ref.begin(), ref.begin() + 3));
  EXPECT_EQ((*r)[0].finish_reason, FinishReason::kStop);
  // min_tokens: the runner masks the stop token before 4 outputs.
  const std::vector<int32_t>& h = (*r)[1].token_ids;
  ASSERT_GE(h.size(), 4u);
  for (size_t i = 0; i + 1 < 4; ++i) EXPECT_NE(h[i], ref[2]);
  expect_all_free(rig);
}

TEST_P(EngineTest, LogprobsComeWithTheTokens) {
  RequestSpec s = make_spec(1, 5, 3);
  s.sampling.num_logprobs = 2;
  Rig rig({}, config());
  ASSERT_TRUE(rig.engine->add_request(s).ok());
  int num_tokens = 0;
  while (rig.engine->has_unfinished()) {
    auto outs = rig.engine->step();
    ASSERT_TRUE(outs.ok());
    for (const auto& o : *outs) {
      for (const auto& t : o.new_tokens) {
        EXPECT_EQ(t.top.size(), 2u);
        ++num_tokens;
      }
    }
  }
  EXPECT_EQ(num_tokens, 3);
}

TEST_P(EngineTest, GenerateWaitsForQueueSpace) {
  EngineConfig c = config();
  c.scheduler.max_waiting_requests = 3;
  c.scheduler.max_num_seqs = 2;
  Rig rig({}, c);
  std::vector<RequestSpec> specs = make_mix(20, 0);
  auto r = rig.engine->generate(specs);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  for (size_t i = 0; i < specs.size(); ++i) EXPECT_EQ((*r)[i].token_ids, run_alone(specs[i]));
  EXPECT_EQ(rig.engine->add_request(make_spec(1, 3, 1)).code(), StatusCode::kOk);
  for (uint64_t id = 2; id <= 3; ++id)
    ASSERT_TRUE(rig.engine->add_request(make_spec(id, 3, 1)).ok());
  EXPECT_EQ(rig.engine->add_request(make_spec(4, 3, 1)).code(), StatusCode::kResourceExhausted);
}

TEST_P(EngineTest, TokenIdsOutsideTheVocabularyAreRefusedAtAdmission) {
  FakeRunnerOptions opt;
  opt.vocab_size = 50;
  Rig rig(opt, config());
  RequestSpec spec = make_spec(1, 4, 2);
  spec.prompt_ids = {1, 2, 50, 3};
  Status s = rig.engine->add_request(spec);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("token id 50 outside the vocabulary of 50"), std::string::npos)
      << s.message();
  spec.prompt_ids[2] = -1;
  EXPECT_EQ(rig.engine->allocate_for_remote_prefill(spec).status().code(),
            StatusCode::kInvalidArgument);
  spec.prompt_ids[2] = 49;
  EXPECT_TRUE(rig.engine->add_request(spec).ok());  // the engine is not failed
  while (rig.engine->has_unfinished()) ASSERT_TRUE(rig.engine->step().ok());
  expect_all_free(rig);
}

// A step the runner fails fails its requests (kError, the cause kept for the
// log) and frees their blocks; the engine goes on serving.
TEST_P(EngineTest, RunnerFailureFailsOnlyThatStepsRequests) {
  Rig rig({}, config());
  ASSERT_TRUE(rig.engine->add_request(make_spec(1, 5, 8)).ok());
  ASSERT_TRUE(rig.engine->step().ok());
  rig.runner->fail_next_execute();
  std::optional<RequestOutput> last;
  while (rig.engine->has_unfinished()) {
    Result<std::vector<RequestOutput>> outs = rig.engine->step();
    ASSERT_TRUE(outs.ok()) << outs.status().to_string();
    for (RequestOutput& o : *outs) last = std::move(o);
  }
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->finished);
  EXPECT_EQ(last->finish_reason, FinishReason::kError);
  EXPECT_NE(last->error.find("injected failure"), std::string::npos) << last->error;
  expect_all_free(rig);
  const RequestSpec next = make_spec(2, 5, 8);
  Result<std::vector<GenerateResult>> again = rig.engine->generate({next});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)[0].finish_reason, FinishReason::kLength);
  EXPECT_EQ((*again)[0].token_ids, run_alone(next));
  expect_all_free(rig);
}

TEST_P(EngineTest, KvEventsReportStoredAndRemovedBlocks) {
  FakeRunnerOptions opt;
  opt.num_blocks = 8;
  Rig rig(opt, config());
  ASSERT_TRUE(rig.engine->generate({make_spec(1, 16, 1)}).ok());
  int stored = 0, removed = 0;
  for (const auto& e : rig.engine->take_kv_events()) {
    (e.kind == kv::KvEvent::Kind::kStored ? stored : removed)++;
  }
  EXPECT_EQ(stored, 4);
  EXPECT_EQ(removed, 0);
  ASSERT_TRUE(rig.engine->generate({make_spec(2, 28, 1)}).ok());  // needs 7 blocks: evicts 3
  stored = removed = 0;
  for (const auto& e : rig.engine->take_kv_events()) {
    (e.kind == kv::KvEvent::Kind::kStored ? stored : removed)++;
  }
  EXPECT_EQ(stored, 7);
  EXPECT_EQ(removed, 3);
  expect_all_free(rig);
}

INSTANTIATE_TEST_SUITE_P(Engine, EngineTest, ::testing::Bool(), async_name);

TEST(EngineCreateTest, RejectsBadConfig) {
  FakeModelRunner runner;
  EngineConfig c;
  c.scheduler.max_num_batched_tokens = 0;
  EXPECT_EQ(Engine::create(c, &runner).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Engine::create({}, nullptr).status().code(), StatusCode::kInvalidArgument);
}

// Swap preemption with nowhere to swap to once fell back to recompute silently.
TEST(EngineCreateTest, SwapPreemptionNeedsAHostTier) {
  EngineConfig c;
  c.scheduler.preemption_mode = scheduler::PreemptionMode::kSwap;
  FakeModelRunner no_host;
  Result<std::unique_ptr<Engine>> e = Engine::create(c, &no_host);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("--swap-space"), std::string::npos) << e.status().message();
  FakeRunnerOptions opt;
  opt.num_host_blocks = 8;
  FakeModelRunner with_host(opt);
  EXPECT_TRUE(Engine::create(c, &with_host).ok());
}

}  // namespace
}  // namespace pdserve::engine
