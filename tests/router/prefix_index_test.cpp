#include "router/prefix_index.h"

#include <gtest/gtest.h>

#include <numeric>
#include <thread>

#include "engine/kv/kv_cache_manager.h"

namespace pdserve::router {
namespace {

namespace internal = server::internal;

std::vector<int32_t> tokens(int n, int start = 0) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  std::iota(t.begin(), t.end(), start);
  return t;
}

// The hashes a worker with this block size publishes for `ids`.
std::vector<protocol::BlockHash> worker_hashes(const std::vector<int32_t>& ids, int block_size,
                                               std::string_view salt = {}) {
  std::vector<protocol::BlockHash> h;
  protocol::extend_block_hashes(ids, block_size, salt, &h);
  return h;
}

internal::WorkerState stored(const std::vector<protocol::BlockHash>& hashes, int block_size,
                             uint64_t cursor) {
  internal::WorkerState s;
  s.role = "decode";
  s.block_size = block_size;
  s.event_cursor = cursor;
  for (protocol::BlockHash h : hashes) s.events.push_back({true, h});
  return s;
}

int matched(const std::vector<PrefixMatch>& m, const std::string& id) {
  for (const PrefixMatch& x : m)
    if (x.worker_id == id) return x.num_matched_tokens;
  return -1;
}

TEST(PrefixIndexTest, LeadingBlocksPerWorker) {
  PrefixIndex index;
  const auto prompt = tokens(70);  // 4 full blocks of 16, 6 tokens left
  const auto h = worker_hashes(prompt, 16);
  ASSERT_EQ(h.size(), 4u);
  index.apply("a:1", stored({h[0], h[1], h[2]}, 16, 5));
  index.apply("b:1", stored({h[1], h[2], h[3]}, 16, 2));  // no first block: matches nothing
  auto m = index.match(prompt, "");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].worker_id, "a:1");
  EXPECT_EQ(m[0].num_matched_blocks, 3);
  EXPECT_EQ(matched(m, "a:1"), 48);
  EXPECT_EQ(matched(m, "b:1"), 0);
  EXPECT_EQ(index.cursor("a:1"), 5u);
  EXPECT_EQ(index.cursor("zz"), 0u);

  // A shorter prompt sharing the first block, and a different one.
  EXPECT_EQ(matched(index.match(tokens(20), ""), "a:1"), 16);
  EXPECT_EQ(matched(index.match(tokens(70, 1), ""), "a:1"), 0);
  EXPECT_EQ(matched(index.match(tokens(15), ""), "a:1"), 0);  // no full block
}

TEST(PrefixIndexTest, SaltSeparatesTenants) {
  PrefixIndex index;
  const auto prompt = tokens(32);
  index.apply("a:1", stored(worker_hashes(prompt, 16, "tenant-a"), 16, 1));
  EXPECT_EQ(matched(index.match(prompt, "tenant-a"), "a:1"), 32);
  EXPECT_EQ(matched(index.match(prompt, "tenant-b"), "a:1"), 0);
  EXPECT_EQ(matched(index.match(prompt, ""), "a:1"), 0);
}

TEST(PrefixIndexTest, EvictionsAndRebuild) {
  PrefixIndex index;
  const auto prompt = tokens(64);
  const auto h = worker_hashes(prompt, 16);
  index.apply("a:1", stored(h, 16, 4));
  EXPECT_EQ(matched(index.match(prompt, ""), "a:1"), 64);
  internal::WorkerState ev;
  ev.role = "decode";
  ev.block_size = 16;
  ev.event_cursor = 5;
  ev.events = {{false, h[2]}};
  index.apply("a:1", ev);
  EXPECT_EQ(matched(index.match(prompt, ""), "a:1"), 32);  // the chain breaks at block 2
  EXPECT_EQ(index.num_blocks("a:1"), 3u);

  internal::WorkerState full;
  full.role = "decode";
  full.block_size = 16;
  full.event_cursor = 99;
  full.events_truncated = true;
  full.cached = {h[0]};
  full.events = {{true, h[1]}};  // ignored when truncated
  index.apply("a:1", full);
  EXPECT_EQ(matched(index.match(prompt, ""), "a:1"), 16);
  EXPECT_EQ(index.num_blocks("a:1"), 1u);
  EXPECT_EQ(index.cursor("a:1"), 99u);

  index.remove_worker("a:1");
  EXPECT_TRUE(index.match(prompt, "").empty());
}

TEST(PrefixIndexTest, WorkersWithOtherBlockSizes) {
  PrefixIndex index;
  const auto prompt = tokens(64);
  index.apply("a:1", stored(worker_hashes(prompt, 16), 16, 1));
  index.apply("b:1", stored(worker_hashes(prompt, 32), 32, 1));
  auto m = index.match(prompt, "");
  EXPECT_EQ(matched(m, "a:1"), 64);
  EXPECT_EQ(matched(m, "b:1"), 64);
  EXPECT_EQ(m[1].num_matched_blocks, 2);
  // A block-size change drops what was indexed (those hashes cannot match).
  index.apply("a:1", stored({}, 32, 2));
  EXPECT_EQ(index.num_blocks("a:1"), 0u);
  index.apply("a:1", stored({}, 0, 3));  // no block size: ignored
  EXPECT_EQ(index.cursor("a:1"), 2u);
}

TEST(PrefixIndexTest, MemoryIsBounded) {
  PrefixIndex index({4});
  const auto prompt = tokens(16 * 6);
  const auto h = worker_hashes(prompt, 16);
  index.apply("a:1", stored(h, 16, 1));  // 6 stored, the 2 oldest forgotten
  EXPECT_EQ(index.num_blocks("a:1"), 4u);
  EXPECT_EQ(matched(index.match(prompt, ""), "a:1"), 0);
  index.apply("a:1", stored({h[0], h[1]}, 16, 2));  // re-stored: newest again
  EXPECT_EQ(index.num_blocks("a:1"), 4u);
  EXPECT_EQ(matched(index.match(prompt, ""), "a:1"), 32);
}

// The worker side for real: a KvCacheManager caches a prompt's blocks with
// hashes chained as the scheduler does (hash_block_tokens per block), its
// events are published as KvCacheEvents, and the index matches the prompt.
TEST(PrefixIndexTest, MatchesAKvCacheManagersEvents) {
  kv::KvCacheManager cache({/*num_blocks=*/3, 0, /*block_size=*/4, true});
  const std::vector<int32_t> prompt = tokens(10, 7);  // 2 full blocks
  std::vector<protocol::BlockHash> hashes;
  for (size_t b = 0; (b + 1) * 4 <= prompt.size(); ++b)
    hashes.push_back(protocol::hash_block_tokens(b ? hashes.back() : protocol::kRootBlockHash,
                                                 std::span(prompt).subspan(b * 4, 4), "salt"));
  cache.allocate(1, 10);
  cache.cache_blocks(1, hashes, 2);
  cache.free(1);
  auto publish = [&](uint64_t cursor) {
    internal::WorkerState s;
    s.role = "decode";
    s.block_size = cache.block_size();
    s.event_cursor = cursor;
    for (const kv::KvEvent& e : cache.take_events())
      s.events.push_back({e.kind == kv::KvEvent::Kind::kStored, e.block_hash});
    return s;
  };
  PrefixIndex index;
  index.apply("d:1", publish(1));
  EXPECT_EQ(matched(index.match(prompt, "salt"), "d:1"), 8);
  EXPECT_EQ(matched(index.match(prompt, "other"), "d:1"), 0);
  // Another request needs every block: the cached ones are evicted, and the
  // index follows.
  cache.allocate(2, 12);
  index.apply("d:1", publish(2));
  EXPECT_EQ(matched(index.match(prompt, "salt"), "d:1"), 0);
  EXPECT_EQ(index.num_blocks("d:1"), 0u);
}

TEST(PrefixIndexTest, ConcurrentApplyAndMatch) {
  PrefixIndex index({64});
  const auto prompt = tokens(16 * 8);
  const auto h = worker_hashes(prompt, 16);
  std::thread writer([&] {
    for (int i = 0; i < 3000; ++i) {
      index.apply("a:1", stored({h[static_cast<size_t>(i % 8)]}, 16, static_cast<uint64_t>(i)));
      if (i % 100 == 0) index.remove_worker("b:1");
      index.apply("b:1", stored(h, 16, static_cast<uint64_t>(i)));
    }
  });
  int max_seen = 0;
  for (int i = 0; i < 3000; ++i)
    for (const PrefixMatch& m : index.match(prompt, ""))
      max_seen = std::max(max_seen, m.num_matched_tokens);
  writer.join();
  EXPECT_LE(max_seen, 16 * 8);
  EXPECT_EQ(matched(index.match(prompt, ""), "a:1"), 16 * 8);
  EXPECT_EQ(matched(index.match(prompt, ""), "b:1"), 16 * 8);
}

}  // namespace
}  // namespace pdserve::router
