// EngineLoop: requests from many threads, outputs through sinks, abort from
// anywhere, remote-prefill commands, commands awaited by a coroutine on the
// loop thread, discard, stop and engine failure end every sink.
#include "engine/engine_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/base/task.h"
#include "tests/common/base/sync_wait.h"
#include "tests/engine/scheduler/engine_test_util.h"

namespace pdserve::engine {
namespace {

// What one request's sink saw.
struct Stream {
  std::vector<int32_t> tokens;
  FinishReason reason = FinishReason::kNone;
  Status error;
  std::promise<void> done;
};

class Streams {
 public:
  EngineLoop::Sink sink(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    Stream* s = &streams_[id];
    return [s](Result<RequestOutput> out) {
      if (!out.ok()) {
        s->error = out.status();
        s->done.set_value();
        return;
      }
      for (const auto& t : out->new_tokens) s->tokens.push_back(t.token_id);
      if (out->finished) {
        s->reason = out->finish_reason;
        s->done.set_value();
      }
    };
  }
  Stream& wait(uint64_t id) {
    Stream* s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      s = &streams_[id];
    }
    EXPECT_EQ(s->done.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready)
        << "request " << id;
    return *s;
  }

 private:
  std::mutex mu_;
  std::map<uint64_t, Stream> streams_;
};

struct LoopRig {
  explicit LoopRig(FakeRunnerOptions opt = {}, EngineConfig config = {})
      : runner(std::make_unique<FakeModelRunner>(opt)) {
    config.check_invariants_every_step = true;
    auto e = Engine::create(config, runner.get());
    PD_CHECK(e.ok()) << e.status().to_string();
    loop = std::make_unique<EngineLoop>(std::move(e).value(), [this](Engine& eng) {
      hook_calls.fetch_add(1);
      idle = !eng.has_unfinished();
    });
  }
  std::unique_ptr<FakeModelRunner> runner;
  std::unique_ptr<EngineLoop> loop;
  std::atomic<int> hook_calls{0};
  std::atomic<bool> idle{true};
};

void expect_loop_idle(LoopRig& rig) {
  for (int i = 0; i < 200 && (!rig.idle || rig.loop->num_requests() > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(rig.loop->num_requests(), 0u);
  scheduler::SchedulerStats s = rig.loop->stats();
  EXPECT_EQ(s.kv.num_referenced, 0);
  EXPECT_EQ(s.num_waiting + s.num_running + s.num_remote_kv + s.num_pinned, 0);
}

// Runs a prefill-only request that keeps its blocks until it finished:
// PINNED then, with no sink, holding its blocks.
void pin(LoopRig& rig, uint64_t id) {
  RequestSpec pinned = make_spec(id, 8, 1);
  pinned.prefill_only = pinned.keep_blocks = true;
  std::promise<void> finished;
  ASSERT_TRUE(sync_wait(rig.loop->add_request(pinned, [&](Result<RequestOutput> out) {
                if (out.ok() && out->finished) finished.set_value();
              })).ok());
  finished.get_future().wait();
}

class EngineLoopTest : public ::testing::TestWithParam<bool> {
 protected:
  EngineConfig config() const {
    EngineConfig c;
    c.async_scheduling = GetParam();
    c.scheduler.max_num_batched_tokens = 32;
    return c;
  }
};

TEST_P(EngineLoopTest, RequestsFromManyThreadsMatchEachAlone) {
  LoopRig rig({}, config());
  Streams streams;
  const std::vector<RequestSpec> specs = make_mix(32, 8);
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < specs.size(); i += 4) {
        ASSERT_TRUE(
            sync_wait(rig.loop->add_request(specs[i], streams.sink(specs[i].request_id))).ok());
      }
    });
  }
  for (auto& c : clients) c.join();
  for (const RequestSpec& s : specs) {
    Stream& got = streams.wait(s.request_id);
    EXPECT_TRUE(got.error.ok()) << got.error.to_string();
    EXPECT_EQ(got.tokens, run_alone(s)) << "request " << s.request_id;
    EXPECT_NE(got.reason, FinishReason::kNone);
  }
  expect_loop_idle(rig);
  EXPECT_GT(rig.hook_calls.load(), 0);
}

TEST_P(EngineLoopTest, RefusedRequestsNeverReachTheirSink) {
  LoopRig rig({}, config());
  Streams streams;
  RequestSpec spec = make_spec(1, 4, 2);
  spec.sampling.max_tokens = 100000;
  EXPECT_EQ(sync_wait(rig.loop->add_request(spec, streams.sink(1))).code(),
            StatusCode::kInvalidArgument);
  // The id is free again; a remote-KV request holds it until aborted.
  ASSERT_TRUE(
      sync_wait(rig.loop->allocate_for_remote_prefill(make_spec(1, 4, 2), streams.sink(1))).ok());
  EXPECT_EQ(sync_wait(rig.loop->add_request(make_spec(1, 4, 2), streams.sink(2))).code(),
            StatusCode::kAlreadyExists);
  rig.loop->abort(1);
  EXPECT_EQ(streams.wait(1).reason, FinishReason::kAbort);
  expect_loop_idle(rig);
}

TEST_P(EngineLoopTest, AbortFromAnotherThreadEndsTheStream) {
  LoopRig rig({}, config());
  Streams streams;
  std::promise<void> first_token, abort_posted;
  std::shared_future<void> posted = abort_posted.get_future().share();
  EngineLoop::Sink inner = streams.sink(1);
  bool seen = false;
  ASSERT_TRUE(
      sync_wait(rig.loop->add_request(make_spec(1, 8, 200), [&, posted](Result<RequestOutput> out) {
        if (!seen) {  // hold the loop until the abort is queued
          seen = true;
          first_token.set_value();
          posted.wait();
        }
        inner(std::move(out));
      })).ok());
  first_token.get_future().wait();
  rig.loop->abort(1);
  rig.loop->abort(12345);  // unknown: ignored
  abort_posted.set_value();
  Stream& got = streams.wait(1);
  EXPECT_EQ(got.reason, FinishReason::kAbort);
  EXPECT_LT(got.tokens.size(), 200u);
  expect_loop_idle(rig);
}

// The prefill worker aborts a prefill-only request whose caller went away;
// the abort may come after the request finished and was pinned (its sink is
// gone then): its blocks are released all the same.
TEST_P(EngineLoopTest, AbortReleasesAPinnedRequest) {
  LoopRig rig({}, config());
  pin(rig, 1);
  rig.loop->abort(1);
  // Commands run in order: the abort ran first, so nothing is left to release.
  EXPECT_EQ(sync_wait(rig.loop->release(1)).code(), StatusCode::kNotFound);
}

TEST_P(EngineLoopTest, RemotePrefillCommands) {
  LoopRig p({}, config()), d({}, config());
  Streams ps, ds;
  RequestSpec spec = make_spec(7, 13, 6);
  auto alloc = sync_wait(d.loop->allocate_for_remote_prefill(spec, ds.sink(7)));
  ASSERT_TRUE(alloc.ok()) << alloc.status().to_string();
  RequestSpec prefill = spec;
  prefill.prefill_only = true;
  prefill.keep_blocks = true;
  std::vector<int32_t> src;
  std::promise<void> prefilled;
  ASSERT_TRUE(sync_wait(p.loop->add_request(prefill, [&](Result<RequestOutput> out) {
                ASSERT_TRUE(out.ok());
                if (!out->finished) return;
                src = out->block_ids;
                ps.sink(7)(std::move(out));
                prefilled.set_value();
              })).ok());
  prefilled.get_future().wait();
  Stream& first = ps.wait(7);
  ASSERT_EQ(first.tokens.size(), 1u);
  const int bs = 4;
  for (int pos = alloc->num_cached_tokens; pos < 13; ++pos) {
    d.runner->write_kv(alloc->block_ids[pos / bs], pos % bs,
                       p.runner->kv_at(src[pos / bs], pos % bs));
  }
  ASSERT_TRUE(sync_wait(p.loop->release(7)).ok());
  EXPECT_EQ(sync_wait(p.loop->release(7)).code(), StatusCode::kNotFound);
  runner::SampledToken tok;
  tok.seq_id = 7;
  tok.token_id = first.tokens[0];
  ASSERT_TRUE(sync_wait(d.loop->start_decode(7, tok)).ok());
  EXPECT_EQ(ds.wait(7).tokens, run_alone(spec));  // the stream starts with the first token
  expect_loop_idle(p);
  expect_loop_idle(d);
}

// Admission as the decode worker does it: the first command takes the
// coroutine onto the loop thread; the next one it awaits there runs at once,
// with no step (and no hook call) in between.
TEST_P(EngineLoopTest, ACommandAwaitedOnTheLoopThreadRunsAtOnce) {
  LoopRig rig({}, config());
  Streams streams;
  struct Seen {
    std::thread::id first_on, second_on;
    int hooks_before = -1, hooks_after = -2;
    Result<int> cached = 0;
    Status added;
  };
  auto admit = [](LoopRig& r, RequestSpec spec, EngineLoop::Sink sink,
                  std::shared_ptr<std::promise<Seen>> done) -> Task<> {
    Seen seen;
    seen.cached = co_await r.loop->num_cached_prefix_tokens(spec);
    seen.first_on = std::this_thread::get_id();
    seen.hooks_before = r.hook_calls.load();
    seen.added = co_await r.loop->add_request(std::move(spec), std::move(sink));
    seen.second_on = std::this_thread::get_id();
    seen.hooks_after = r.hook_calls.load();
    done->set_value(std::move(seen));
  };
  auto done = std::make_shared<std::promise<Seen>>();
  std::future<Seen> result = done->get_future();
  const RequestSpec spec = make_spec(1, 8, 4);
  spawn(admit(rig, spec, streams.sink(1), done));
  Seen seen = result.get();
  ASSERT_TRUE(seen.cached.ok());
  EXPECT_EQ(*seen.cached, 0);
  EXPECT_TRUE(seen.added.ok()) << seen.added.to_string();
  EXPECT_NE(seen.first_on, std::this_thread::get_id());  // the loop thread
  EXPECT_EQ(seen.second_on, seen.first_on);
  EXPECT_EQ(seen.hooks_after, seen.hooks_before);
  EXPECT_EQ(streams.wait(1).tokens, run_alone(spec));
  expect_loop_idle(rig);
}

// discard ends a live request and its sink hears nothing; a request that
// has ended already is not discarded.
TEST_P(EngineLoopTest, DiscardEndsALiveRequestWithoutItsSink) {
  LoopRig rig({}, config());
  Streams streams;
  std::atomic<int> heard{0};
  ASSERT_TRUE(sync_wait(rig.loop->allocate_for_remote_prefill(
                            make_spec(1, 8, 4), [&](Result<RequestOutput>) { heard.fetch_add(1); }))
                  .ok());
  EXPECT_TRUE(sync_wait(rig.loop->discard(1)));
  EXPECT_FALSE(sync_wait(rig.loop->discard(1)));
  ASSERT_TRUE(sync_wait(rig.loop->add_request(make_spec(2, 4, 2), streams.sink(2))).ok());
  EXPECT_EQ(streams.wait(2).reason, FinishReason::kLength);
  EXPECT_FALSE(sync_wait(rig.loop->discard(2)));
  expect_loop_idle(rig);
  EXPECT_EQ(heard.load(), 0);
}

TEST_P(EngineLoopTest, StopEndsEverySinkAndRefusesLaterCommands) {
  LoopRig rig({}, config());
  Streams streams;
  pin(rig, 1);
  ASSERT_TRUE(sync_wait(rig.loop->add_request(make_spec(3, 8, 200), streams.sink(3))).ok());
  ASSERT_TRUE(
      sync_wait(rig.loop->allocate_for_remote_prefill(make_spec(2, 8, 5), streams.sink(2))).ok());
  rig.loop->stop();
  EXPECT_EQ(streams.wait(2).error.code(), StatusCode::kCancelled);
  Stream& running = streams.wait(3);  // finished or cancelled, never left hanging
  EXPECT_TRUE(running.reason != FinishReason::kNone ||
              running.error.code() == StatusCode::kCancelled);
  EXPECT_EQ(sync_wait(rig.loop->add_request(make_spec(4, 4, 2), streams.sink(4))).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(sync_wait(rig.loop->num_cached_prefix_tokens(make_spec(4, 4, 2))).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_FALSE(sync_wait(rig.loop->discard(3)));
  rig.loop->stop();  // idempotent
}

// A failed step ends its requests' sinks with FinishReason::kError; the
// loop serves the next request.
TEST_P(EngineLoopTest, StepFailureEndsItsSinksAndTheLoopGoesOn) {
  LoopRig rig({}, config());
  Streams streams;
  rig.runner->fail_next_execute();
  ASSERT_TRUE(sync_wait(rig.loop->add_request(make_spec(1, 8, 20), streams.sink(1))).ok());
  EXPECT_EQ(streams.wait(1).reason, FinishReason::kError);
  const RequestSpec next = make_spec(2, 4, 2);
  ASSERT_TRUE(sync_wait(rig.loop->add_request(next, streams.sink(2))).ok());
  Stream& ok = streams.wait(2);
  EXPECT_TRUE(ok.error.ok()) << ok.error.to_string();
  EXPECT_EQ(ok.reason, FinishReason::kLength);
  EXPECT_EQ(ok.tokens, run_alone(next));
  expect_loop_idle(rig);
}

INSTANTIATE_TEST_SUITE_P(Engine, EngineLoopTest, ::testing::Bool(), async_name);

}  // namespace
}  // namespace pdserve::engine
