// The worker roles: prefill-only (pinned or not), remote-prefill decode, and
// a prefill engine feeding a decode engine block by block (the fake KV is
// copied the way kvtransfer would).
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "tests/engine/scheduler/engine_test_util.h"

namespace pdserve::engine {
namespace {

using RolesTest = AsyncParamTest;

TEST_P(RolesTest, PrefillOnlyPinsBlocksUntilRelease) {
  Rig rig({}, config());
  RequestSpec s = make_spec(1, 10, 50);
  s.prefill_only = true;
  s.keep_blocks = true;
  auto r = rig.engine->generate({s});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)[0].token_ids, std::vector<int32_t>{run_alone(make_spec(1, 10, 1))[0]});
  EXPECT_EQ((*r)[0].finish_reason, FinishReason::kLength);
  ASSERT_EQ((*r)[0].block_ids.size(), 3u);  // 10 prompt tokens in 4-token blocks
  EXPECT_EQ(rig.engine->request_state(1), scheduler::RequestState::kPinned);
  EXPECT_EQ(rig.engine->stats().kv.num_referenced, 3);
  EXPECT_EQ(rig.runner->num_sequences(), 0);  // the runner is done with it
  // The blocks hold the prompt.
  for (int p = 0; p < 10; ++p) {
    EXPECT_EQ(rig.runner->kv_at((*r)[0].block_ids[p / 4], p % 4), s.prompt_ids[p]);
  }
  EXPECT_EQ(rig.engine->start_decode(1, {}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(rig.engine->release(1).ok());
  EXPECT_EQ(rig.engine->release(1).code(), StatusCode::kNotFound);
  expect_all_free(rig);
}

TEST_P(RolesTest, PrefillOnlyWithoutKeepFreesAtOnce) {
  Rig rig({}, config());
  RequestSpec s = make_spec(1, 10, 50);
  s.prefill_only = true;
  auto r = rig.engine->generate({s});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].token_ids.size(), 1u);
  EXPECT_TRUE((*r)[0].block_ids.empty());
  expect_all_free(rig);
}

// P prefills into its blocks, the "transfer" copies them into D's blocks,
// D decodes: the same tokens as one plain engine.
void prefill_remotely(Rig& p, Rig& d, const RequestSpec& spec) {
  auto alloc = d.engine->allocate_for_remote_prefill(spec);
  ASSERT_TRUE(alloc.ok()) << alloc.status().to_string();
  EXPECT_EQ(d.engine->request_state(spec.request_id), scheduler::RequestState::kRemoteKv);
  RequestSpec prefill = spec;
  prefill.prefill_only = true;
  prefill.keep_blocks = true;
  auto r = p.engine->generate({prefill});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const std::vector<int32_t>& src = (*r)[0].block_ids;
  const int bs = p.engine->block_size();
  for (int pos = alloc->num_cached_tokens; pos < static_cast<int>(spec.prompt_ids.size()); ++pos) {
    d.runner->write_kv(alloc->block_ids[pos / bs], pos % bs,
                       p.runner->kv_at(src[pos / bs], pos % bs));
  }
  ASSERT_TRUE(p.engine->release(spec.request_id).ok());
  runner::SampledToken first;
  first.seq_id = spec.request_id;
  first.token_id = (*r)[0].token_ids[0];
  ASSERT_TRUE(d.engine->start_decode(spec.request_id, first).ok());
}

TEST_P(RolesTest, RemotePrefillThenDecodeMatchesOneEngine) {
  Rig p({}, config()), d({}, config());
  std::vector<RequestSpec> specs;
  for (uint64_t id = 1; id <= 6; ++id) specs.push_back(make_spec(id, 5 + 4 * id, 9, /*shared=*/12));
  for (const RequestSpec& s : specs) prefill_remotely(p, d, s);
  EXPECT_GT(d.engine->stats().prefix_cache.num_hit_tokens, 0);  // D's own cache after the first
  Collected got;
  run_to_end(d, &got);
  expect_matches_alone(specs, got, {});
  expect_all_free(p);
  expect_all_free(d);
}

TEST_P(RolesTest, RemoteFirstTokenCanFinishTheRequest) {
  Rig d({}, config());
  RequestSpec s = make_spec(1, 6, 5);
  s.sampling.stop_token_ids = {42};
  ASSERT_TRUE(d.engine->allocate_for_remote_prefill(s).ok());
  runner::SampledToken first;
  first.seq_id = 1;
  first.token_id = 42;
  ASSERT_TRUE(d.engine->start_decode(1, first).ok());
  Collected got;
  run_to_end(d, &got);
  EXPECT_EQ(got.tokens[1], std::vector<int32_t>{42});
  EXPECT_EQ(got.reasons[1], FinishReason::kStop);
  expect_all_free(d);
}

TEST_P(RolesTest, RemoteAllocationIsRefusedWhenFull) {
  FakeRunnerOptions opt;
  opt.num_blocks = 4;
  EngineConfig c = config();
  c.scheduler.max_num_seqs = 2;
  Rig d(opt, c);
  ASSERT_TRUE(d.engine->allocate_for_remote_prefill(make_spec(1, 12, 1)).ok());
  auto no_blocks = d.engine->allocate_for_remote_prefill(make_spec(2, 8, 1));
  EXPECT_EQ(no_blocks.status().code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(d.engine->allocate_for_remote_prefill(make_spec(3, 3, 1)).ok());
  auto no_seqs = d.engine->allocate_for_remote_prefill(make_spec(4, 1, 1));
  EXPECT_EQ(no_seqs.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(d.engine->allocate_for_remote_prefill(make_spec(3, 3, 1)).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(d.engine->start_decode(9, {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(d.engine->release(1).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(d.engine->abort(1).ok());
  ASSERT_TRUE(d.engine->abort(3).ok());
  Collected got;
  run_to_end(d, &got);
  expect_all_free(d);
}

TEST_P(RolesTest, PinnedBlocksStallGenerateInsteadOfHanging) {
  FakeRunnerOptions opt;
  opt.num_blocks = 4;
  Rig rig(opt, config());
  RequestSpec pin = make_spec(1, 12, 1);
  pin.prefill_only = true;
  pin.keep_blocks = true;
  ASSERT_TRUE(rig.engine->generate({pin}).ok());
  auto r = rig.engine->generate({make_spec(2, 8, 1)});
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("1 pinned"), std::string::npos) << r.status().message();
  ASSERT_TRUE(rig.engine->release(1).ok());
  Collected got;
  run_to_end(rig, &got);
  expect_all_free(rig);
}

INSTANTIATE_TEST_SUITE_P(Engine, RolesTest, ::testing::Bool(), async_name);

}  // namespace
}  // namespace pdserve::engine
