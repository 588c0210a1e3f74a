// Scheduler decisions, driven step by step against the strict fake runner.
#include "engine/scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <numeric>

#include "tests/engine/scheduler/fake_model_runner.h"

namespace pdserve::scheduler {
namespace {

using testing::FakeModelRunner;
using testing::FakeRunnerOptions;

RequestSpec spec(uint64_t id, int prompt_len, int max_tokens, int first_token = 1) {
  RequestSpec s;
  s.request_id = id;
  s.prompt_ids.resize(prompt_len);
  std::iota(s.prompt_ids.begin(), s.prompt_ids.end(), first_token);
  s.sampling.max_tokens = max_tokens;
  s.sampling.ignore_eos = true;
  return s;
}

// Runs schedule -> fake runner -> update by hand, one step at a time.
class Driver {
 public:
  Driver(SchedulerConfig config, FakeRunnerOptions opt)
      : runner_(opt),
        sched_(config, kv::KvCacheConfig{opt.num_blocks, opt.num_host_blocks, opt.block_size, true},
               opt.max_model_len, opt.eos_token_ids) {}

  ScheduledStep schedule() { return sched_.schedule(); }
  void run(const ScheduledStep& s) {
    for (uint64_t id : s.remove_seqs) runner_.remove_sequence(id);
    for (const auto& info : s.add_seqs) ASSERT_TRUE(runner_.add_sequence(info).ok());
    runner::StepOutput out;
    if (s.has_batch()) {
      Result<runner::StepOutput> r = runner_.execute(s.batch);
      ASSERT_TRUE(r.ok()) << r.status().to_string();
      out = *r;
    }
    ASSERT_TRUE(sched_.update(s, out).ok());
    ASSERT_TRUE(sched_.check_invariants().ok()) << sched_.check_invariants().to_string();
    for (auto& o : sched_.take_outputs()) outputs_.push_back(std::move(o));
  }
  ScheduledStep step() {
    ScheduledStep s = schedule();
    run(s);
    return s;
  }
  void run_to_end() {
    for (int i = 0; i < 1000 && sched_.has_work(); ++i) step();
    ASSERT_FALSE(sched_.has_work());
  }
  std::vector<int32_t> tokens_of(uint64_t id) const {
    std::vector<int32_t> t;
    for (const auto& o : outputs_) {
      if (o.request_id != id) continue;
      for (const auto& s : o.new_tokens) t.push_back(s.token_id);
    }
    return t;
  }

  FakeModelRunner runner_;
  Scheduler sched_;
  std::vector<RequestOutput> outputs_;
};

SchedulerConfig budget(int tokens, int max_num_seqs = 256) {
  SchedulerConfig c;
  c.max_num_batched_tokens = tokens;
  c.max_num_seqs = max_num_seqs;
  return c;
}

TEST(SchedulerTest, LongPromptIsChunkedByTheTokenBudget) {
  Driver d(budget(8), {});
  ASSERT_TRUE(d.sched_.add_request(spec(1, 20, 2)).ok());
  ScheduledStep s1 = d.step(), s2 = d.step(), s3 = d.step();
  ASSERT_EQ(s1.batch.seqs.size(), 1u);
  EXPECT_EQ(s1.batch.seqs[0].input_ids.size(), 8u);
  EXPECT_EQ(s1.batch.seqs[0].num_computed, 0);
  EXPECT_FALSE(s1.batch.seqs[0].sample);
  EXPECT_EQ(s2.batch.seqs[0].num_computed, 8);
  EXPECT_FALSE(s2.batch.seqs[0].sample);
  EXPECT_EQ(s3.batch.seqs[0].num_computed, 16);
  EXPECT_EQ(s3.batch.seqs[0].input_ids.size(), 4u);
  EXPECT_TRUE(s3.batch.seqs[0].sample);
  EXPECT_EQ(s3.batch.seqs[0].block_table.size(), 5u);
  d.run_to_end();
  EXPECT_EQ(d.tokens_of(1).size(), 2u);
}

TEST(SchedulerTest, PrefillChunkCapAppliesBelowTheBudget) {
  SchedulerConfig c = budget(64);
  c.max_prefill_chunk_tokens = 6;
  Driver d(c, {});
  ASSERT_TRUE(d.sched_.add_request(spec(1, 10, 1)).ok());
  EXPECT_EQ(d.step().batch.seqs[0].input_ids.size(), 6u);
  EXPECT_EQ(d.step().batch.seqs[0].input_ids.size(), 4u);
}

TEST(SchedulerTest, DecodesGoFirstAndPrefillChunksFillTheRest) {
  Driver d(budget(10), {});
  ASSERT_TRUE(d.sched_.add_request(spec(1, 4, 20)).ok());
  d.step();  // request 1 prefilled, now decoding
  ASSERT_TRUE(d.sched_.add_request(spec(2, 30, 2, 100)).ok());
  for (int i = 0; i < 3; ++i) {
    ScheduledStep s = d.step();
    ASSERT_EQ(s.batch.seqs.size(), 2u);
    EXPECT_EQ(s.batch.seqs[0].seq_id, 1u);  // the decode never stalls
    EXPECT_EQ(s.batch.seqs[0].input_ids.size(), 1u);
    EXPECT_EQ(s.batch.seqs[1].seq_id, 2u);
    EXPECT_EQ(s.batch.seqs[1].input_ids.size(), 9u);
  }
  d.run_to_end();
}

TEST(SchedulerTest, MaxNumSeqsBoundsTheRunningBatch) {
  Driver d(budget(100, 2), {});
  for (uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(d.sched_.add_request(spec(id, 3, 3)).ok());
  ScheduledStep s = d.step();
  EXPECT_EQ(s.batch.seqs.size(), 2u);
  EXPECT_EQ(d.sched_.stats().num_waiting, 1);
  d.step();
  d.step();  // 1 and 2 finish here (3 tokens each)
  EXPECT_EQ(d.sched_.state_of(3), RequestState::kWaiting);
  ScheduledStep s4 = d.step();
  ASSERT_EQ(s4.batch.seqs.size(), 1u);
  EXPECT_EQ(s4.batch.seqs[0].seq_id, 3u);
  d.run_to_end();
}

TEST(SchedulerTest, PrefixHitReusesFullBlocksButComputesTheLastToken) {
  Driver d(budget(64), {});
  ASSERT_TRUE(d.sched_.add_request(spec(1, 12, 1)).ok());
  d.run_to_end();
  // Same 12 tokens: blocks 0-1 hit, block 2 holds the last token: recomputed.
  ASSERT_TRUE(d.sched_.add_request(spec(2, 12, 1)).ok());
  ScheduledStep s = d.step();
  EXPECT_EQ(s.batch.seqs[0].num_computed, 8);
  EXPECT_EQ(s.batch.seqs[0].input_ids.size(), 4u);
  // 13 tokens with the same head: 3 blocks hit.
  RequestSpec longer = spec(3, 13, 1);
  ASSERT_TRUE(d.sched_.add_request(longer).ok());
  EXPECT_EQ(d.step().batch.seqs[0].num_computed, 12);
  d.run_to_end();
  EXPECT_EQ(d.tokens_of(1), d.tokens_of(2));
  kv::PrefixCacheStats st = d.sched_.stats().prefix_cache;
  EXPECT_EQ(st.num_query_tokens, 12 + 12 + 13);
  EXPECT_EQ(st.num_hit_tokens, 8 + 12);
}

TEST(SchedulerTest, CacheSaltKeepsTenantsApart) {
  Driver d(budget(64), {});
  RequestSpec a = spec(1, 12, 1);
  a.cache_salt = "tenant-a";
  ASSERT_TRUE(d.sched_.add_request(a).ok());
  d.run_to_end();
  RequestSpec b = spec(2, 12, 1);
  b.cache_salt = "tenant-b";
  ASSERT_TRUE(d.sched_.add_request(b).ok());
  EXPECT_EQ(d.step().batch.seqs[0].num_computed, 0);
  d.run_to_end();
}

TEST(SchedulerTest, VictimIsLowestPriorityThenLatestArrival) {
  FakeRunnerOptions opt;
  opt.num_blocks = 6;  // 4-token blocks
  Driver d(budget(64), opt);
  RequestSpec hi = spec(1, 4, 12);  // needs 4 blocks in the end
  hi.priority = 0;
  RequestSpec low_old = spec(2, 4, 12, 50);
  low_old.priority = 1;
  RequestSpec low_new = spec(3, 4, 12, 90);
  low_new.priority = 1;
  for (const auto& s : {hi, low_old, low_new}) ASSERT_TRUE(d.sched_.add_request(s).ok());
  d.step();
  EXPECT_EQ(d.sched_.stats().kv.num_referenced, 3);
  d.step();  // position 4 needs a second block each: 6 blocks, all used
  EXPECT_EQ(d.sched_.stats().kv.num_referenced, 6);
  for (int i = 0; i < 3; ++i) d.step();
  // Position 8 needs a third block: request 3 (priority 1, latest) goes first.
  ScheduledStep s = d.step();
  EXPECT_EQ(d.sched_.state_of(3), RequestState::kWaiting);
  EXPECT_EQ(d.sched_.state_of(2), RequestState::kRunning);
  EXPECT_EQ(d.sched_.stats().num_preemptions, 1);
  for (const auto& seq : s.batch.seqs) EXPECT_NE(seq.seq_id, 3u);
  d.run_to_end();
  EXPECT_EQ(d.tokens_of(3).size(), 12u);
  EXPECT_EQ(d.sched_.stats().kv.num_referenced, 0);
}

TEST(SchedulerTest, WaitingQueueLimitsGiveResourceExhausted) {
  SchedulerConfig c = budget(64);
  c.max_waiting_requests = 2;
  c.max_waiting_tokens = 20;
  Driver d(c, {});
  EXPECT_TRUE(d.sched_.add_request(spec(1, 8, 1)).ok());
  Status tokens = d.sched_.add_request(spec(2, 13, 1));
  EXPECT_EQ(tokens.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(tokens.message().find("max_waiting_tokens 20"), std::string::npos);
  EXPECT_TRUE(d.sched_.add_request(spec(3, 8, 1)).ok());
  Status count = d.sched_.add_request(spec(4, 1, 1));
  EXPECT_EQ(count.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(count.message().find("max_waiting_requests 2"), std::string::npos);
  d.step();  // both admitted: the queue has room again
  EXPECT_TRUE(d.sched_.add_request(spec(4, 1, 1)).ok());
  d.run_to_end();
}

TEST(SchedulerTest, RequestsThatCanNeverFitAreInvalidWithTheNumbers) {
  FakeRunnerOptions opt;
  opt.max_model_len = 64;
  opt.num_blocks = 8;  // 32 tokens
  Driver d(budget(64), opt);
  Status too_long = d.sched_.add_request(spec(1, 60, 10));
  EXPECT_EQ(too_long.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.message().find("prompt (60 tokens) + max_tokens (10) = 70 exceeds "
                                    "max_model_len 64"),
            std::string::npos)
      << too_long.message();
  Status too_big = d.sched_.add_request(spec(2, 30, 10));
  EXPECT_EQ(too_big.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.message().find("needs 10 KV blocks, the pool has 8"), std::string::npos)
      << too_big.message();
  EXPECT_EQ(d.sched_.add_request(spec(3, 0, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d.sched_.add_request(spec(4, 3, 0)).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(d.sched_.add_request(spec(5, 3, 2)).ok());
  EXPECT_EQ(d.sched_.add_request(spec(5, 3, 2)).code(), StatusCode::kAlreadyExists);
  d.run_to_end();
}

TEST(SchedulerTest, AsyncStepUsesLastSampledForTheTokenInFlight) {
  Driver d(budget(64), {});
  ASSERT_TRUE(d.sched_.add_request(spec(1, 5, 3)).ok());
  ScheduledStep s1 = d.schedule();  // prefill, samples token 1
  ScheduledStep s2 = d.schedule();  // decodes token 1 before it is known
  ASSERT_EQ(s2.batch.seqs.size(), 1u);
  EXPECT_EQ(s2.batch.seqs[0].input_ids, std::vector<int32_t>{runner::kLastSampled});
  EXPECT_EQ(s2.batch.seqs[0].num_computed, 5);
  d.run(s1);
  ScheduledStep s3 = d.schedule();  // token 3 would pass max_tokens: not scheduled
  d.run(s2);
  EXPECT_EQ(s3.batch.seqs.size(), 1u);
  EXPECT_EQ(s3.batch.seqs[0].input_ids, std::vector<int32_t>{runner::kLastSampled});
  ScheduledStep s4 = d.schedule();
  EXPECT_TRUE(s4.batch.seqs.empty());
  d.run(s3);
  d.run(s4);
  EXPECT_EQ(d.tokens_of(1).size(), 3u);
  d.run_to_end();
  EXPECT_EQ(d.runner_.num_sequences(), 0);
}

}  // namespace
}  // namespace pdserve::scheduler
