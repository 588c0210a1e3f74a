#include "router/policies/policy.h"

#include <gtest/gtest.h>

#include <map>

#include "router/policies/least_load.h"
#include "router/policies/prefix_aware.h"
#include "router/policies/round_robin.h"

namespace pdserve::router {
namespace {

WorkerView worker(const std::string& id, WorkerRole role, int waiting = 0, int running = 0,
                  int free_blocks = 100, bool healthy = true, std::string model = "m") {
  WorkerView w;
  w.id = id;
  w.role = role;
  w.address = {id, 1};
  w.model = std::move(model);
  w.healthy = healthy;
  w.load = {waiting, running, free_blocks, 200};
  return w;
}

WorkerSnapshot snapshot(std::vector<WorkerView> ws) {
  std::sort(ws.begin(), ws.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return {std::move(ws)};
}

RouteRequest request(std::vector<PrefixMatch> matches = {}, int prompt = 100) {
  RouteRequest r;
  r.model = "m";
  r.num_prompt_tokens = prompt;
  r.prefix_matches = std::move(matches);
  return r;
}

constexpr auto D = WorkerRole::kDecode;
constexpr auto P = WorkerRole::kPrefill;

TEST(MakePolicyTest, KnownNames) {
  for (const char* name : {"round_robin", "least_load", "prefix_aware"}) {
    auto p = make_policy(name);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_NE(p->get(), nullptr);
  }
  auto bad = make_policy("random");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "unknown routing policy 'random' (known: round_robin, least_load, prefix_aware)");
  EXPECT_FALSE(make_policy("prefix_aware", {-1.0}).ok());
}

TEST(PolicyTest, EveryPolicyNeedsAHealthyDecodeWorker) {
  for (const char* name : {"round_robin", "least_load", "prefix_aware"}) {
    auto p = std::move(make_policy(name).value());
    auto none = p->choose(request(), snapshot({worker("p", P), worker("d", D, 0, 0, 1, false)}));
    ASSERT_FALSE(none.ok()) << name;
    EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
    EXPECT_EQ(none.status().message(), "no healthy decode worker for model 'm'");
    // Other model, excluded: also not candidates.
    RouteRequest r = request();
    r.exclude = {"d1"};
    auto ex = p->choose(r, snapshot({worker("d1", D), worker("d2", D, 0, 0, 1, true, "other")}));
    ASSERT_FALSE(ex.ok()) << name;
    EXPECT_EQ(ex.status().message(), "no healthy decode worker for model 'm' (1 excluded)");
    // Only a decode worker: no prefill worker is fine.
    auto ok = p->choose(request(), snapshot({worker("d", D)}));
    ASSERT_TRUE(ok.ok()) << name;
    EXPECT_EQ(ok->decode.id, "d");
    EXPECT_FALSE(ok->prefill.has_value());
    // want_prefill false: none chosen even when there is one.
    RouteRequest local = request();
    local.want_prefill = false;
    auto nl = p->choose(local, snapshot({worker("d", D), worker("p", P)}));
    ASSERT_TRUE(nl.ok());
    EXPECT_FALSE(nl->prefill.has_value());
    auto both = p->choose(request(), snapshot({worker("d", D), worker("p", P)}));
    ASSERT_TRUE(both.ok());
    ASSERT_TRUE(both->prefill.has_value());
    EXPECT_EQ(both->prefill->id, "p");
    // A worker whose model is not known yet serves any model.
    auto unknown = p->choose(request(), snapshot({worker("d", D, 0, 0, 1, true, "")}));
    EXPECT_TRUE(unknown.ok()) << name;
  }
}

TEST(RoundRobinTest, CyclesAndSkipsExcludedAndUnhealthy) {
  RoundRobinPolicy rr;
  auto s = snapshot({worker("a", D), worker("b", D), worker("c", D, 0, 0, 1, false),
                     worker("p1", P), worker("p2", P)});
  std::vector<std::string> seen, prefill;
  for (int i = 0; i < 4; ++i) {
    auto c = rr.choose(request(), s);
    ASSERT_TRUE(c.ok());
    seen.push_back(c->decode.id);
    prefill.push_back(c->prefill->id);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "a", "b"}));
  EXPECT_EQ(prefill, (std::vector<std::string>{"p1", "p2", "p1", "p2"}));
  RouteRequest retry = request();
  retry.exclude = {"a", "p1"};
  for (int i = 0; i < 3; ++i) {
    auto c = rr.choose(retry, s);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->decode.id, "b");
    EXPECT_EQ(c->prefill->id, "p2");
  }
}

TEST(LeastLoadTest, PicksSmallestWaitingPlusRunning) {
  LeastLoadPolicy ll;
  auto s = snapshot({worker("a", D, 2, 3), worker("b", D, 0, 4), worker("c", D, 4, 4),
                     worker("p1", P, 5, 0), worker("p2", P, 1, 1)});
  auto c = ll.choose(request(), s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->decode.id, "b");
  EXPECT_EQ(c->prefill->id, "p2");
  RouteRequest retry = request();
  retry.exclude = {"b"};
  EXPECT_EQ(ll.choose(retry, s)->decode.id, "a");
}

TEST(LeastLoadTest, FreeBlocksBreakTiesThenTurns) {
  LeastLoadPolicy ll;
  auto s = snapshot({worker("a", D, 1, 1, 10), worker("b", D, 0, 2, 50), worker("c", D, 2, 0, 50)});
  std::map<std::string, int> count;
  for (int i = 0; i < 10; ++i) ++count[ll.choose(request(), s)->decode.id];
  EXPECT_EQ(count["a"], 0);
  EXPECT_EQ(count["b"], 5);  // b and c tie fully: they take turns
  EXPECT_EQ(count["c"], 5);
}

TEST(LeastLoadTest, InflightCountsBetweenPolls) {
  WorkerView a = worker("a", D), b = worker("b", D);
  a.num_inflight = 3;  // sent by the router, not yet in a's polled load
  EXPECT_EQ(worker_load(a), 3);
  LeastLoadPolicy ll;
  EXPECT_EQ(ll.choose(request(), snapshot({a, b}))->decode.id, "b");
  b.load.num_running = 5;
  b.num_inflight = 2;
  EXPECT_EQ(worker_load(b), 5);
}

TEST(PrefixAwareTest, LongestPrefixWinsWhenLoadIsEven) {
  PrefixAwarePolicy pa(0.5);
  auto s = snapshot({worker("a", D, 1, 1), worker("b", D, 1, 1), worker("pa", P), worker("pb", P)});
  auto c = pa.choose(request({{"a", 1, 16}, {"b", 4, 64}, {"pa", 5, 80}}), s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->decode.id, "b");
  EXPECT_EQ(c->prefill->id, "pa");
}

TEST(PrefixAwareTest, LoadOutweighsASmallHit) {
  // a: hit 0.32, load 10 (rload 1); b: hit 0, load 0.
  // score(a) = 0.32 - 0.5 = -0.18 < score(b) = 0.
  PrefixAwarePolicy pa(0.5);
  auto s = snapshot({worker("a", D, 5, 5), worker("b", D)});
  EXPECT_EQ(pa.choose(request({{"a", 2, 32}}), s)->decode.id, "b");
  // A big hit is worth the load: 0.96 - 0.5 > 0.
  EXPECT_EQ(pa.choose(request({{"a", 6, 96}}), s)->decode.id, "a");
  // Weight 0: pure affinity.
  PrefixAwarePolicy affinity(0.0);
  EXPECT_EQ(affinity.choose(request({{"a", 1, 16}}), s)->decode.id, "a");
  // Large weight: least load.
  PrefixAwarePolicy load(100.0);
  EXPECT_EQ(load.choose(request({{"a", 6, 96}}), s)->decode.id, "b");
}

TEST(PrefixAwareTest, NoMatchesFallsBackToLeastLoad) {
  PrefixAwarePolicy pa(0.5);
  auto s = snapshot({worker("a", D, 3, 0), worker("b", D, 1, 0), worker("c", D, 2, 0)});
  EXPECT_EQ(pa.choose(request(), s)->decode.id, "b");
  RouteRequest r = request({{"b", 6, 96}});
  r.exclude = {"b"};
  EXPECT_EQ(pa.choose(r, s)->decode.id, "c");
}

TEST(PrefixAwareTest, EqualScoresTakeTurnsPerRole) {
  PrefixAwarePolicy pa(0.5);
  auto s = snapshot({worker("a", D), worker("b", D), worker("p1", P), worker("p2", P)});
  std::map<std::string, int> count;
  for (int i = 0; i < 8; ++i) {
    auto c = pa.choose(request(), s);
    ASSERT_TRUE(c.ok());
    ++count[c->decode.id];
    ++count[c->prefill->id];
  }
  EXPECT_EQ(count["a"], 4);
  EXPECT_EQ(count["b"], 4);
  EXPECT_EQ(count["p1"], 4);
  EXPECT_EQ(count["p2"], 4);
}

}  // namespace
}  // namespace pdserve::router
