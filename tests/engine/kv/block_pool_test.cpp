#include "engine/kv/block_pool.h"

#include <gtest/gtest.h>

namespace pdserve::kv {
namespace {

std::vector<int> refs_of(const BlockPool& pool) {
  std::vector<int> refs;
  for (int b = 0; b < pool.num_blocks(); ++b) refs.push_back(pool.ref_count(b));
  return refs;
}

TEST(BlockPoolTest, AllocateAndFreeKeepTheCounts) {
  BlockPool pool(4);
  EXPECT_TRUE(pool.can_allocate(4));
  EXPECT_FALSE(pool.can_allocate(5));
  std::vector<int32_t> b = pool.allocate(3);
  EXPECT_EQ(b, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(pool.num_free(), 1);
  EXPECT_EQ(pool.num_referenced(), 3);
  pool.ref(b[0]);
  pool.unref(b[0]);
  EXPECT_EQ(pool.ref_count(b[0]), 1);
  for (int32_t x : b) pool.unref(x);
  EXPECT_EQ(pool.num_free(), 4);
  std::vector<int32_t> bad;
  EXPECT_TRUE(pool.check(refs_of(pool), &bad).ok());
}

TEST(BlockPoolTest, CachedBlocksAreEvictedOnlyWhenNeededInLruOrder) {
  BlockPool pool(4);
  std::vector<int32_t> b = pool.allocate(4);
  pool.cache(b[0], 100);
  pool.cache(b[1], 101);
  pool.cache(b[2], 102);
  pool.take_events();
  // Released last-first: 2 is least recent, then 1, then 0. Block 3 is plain.
  for (int i = 3; i >= 0; --i) pool.unref(b[i]);
  EXPECT_EQ(pool.num_free(), 4);
  EXPECT_EQ(pool.num_cached_free(), 3);
  EXPECT_EQ(pool.lookup(101), b[1]);

  EXPECT_EQ(pool.allocate(1), std::vector<int32_t>{b[3]});  // plain free first, no eviction
  EXPECT_TRUE(pool.take_events().empty());
  EXPECT_EQ(pool.allocate(1), std::vector<int32_t>{b[2]});  // then the LRU cached one
  std::vector<KvEvent> ev = pool.take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, KvEvent::Kind::kRemoved);
  EXPECT_EQ(ev[0].block_hash, 102u);
  EXPECT_FALSE(pool.lookup(102).has_value());

  pool.ref(b[1]);  // a hit takes it out of the LRU
  EXPECT_EQ(pool.allocate(1), std::vector<int32_t>{b[0]});
  EXPECT_FALSE(pool.can_allocate(1));
  EXPECT_EQ(pool.lookup(101), b[1]);
  std::vector<int32_t> bad;
  EXPECT_TRUE(pool.check(refs_of(pool), &bad).ok());
}

TEST(BlockPoolTest, CachingAnAlreadyCachedHashKeepsTheFirstCopy) {
  BlockPool pool(2);
  std::vector<int32_t> b = pool.allocate(2);
  pool.cache(b[0], 7);
  pool.cache(b[1], 7);
  EXPECT_EQ(pool.lookup(7), b[0]);
  EXPECT_FALSE(pool.is_cached(b[1]));
  std::vector<KvEvent> ev = pool.take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, KvEvent::Kind::kStored);
}

TEST(BlockPoolTest, CheckNamesBlocksWhoseCountsDisagree) {
  BlockPool pool(3);
  std::vector<int32_t> b = pool.allocate(2);
  std::vector<int> expected = {1, 0, 0};  // the caller thinks block 1 is free
  std::vector<int32_t> bad;
  Status s = pool.check(expected, &bad);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_NE(s.message().find("block 1"), std::string::npos) << s.message();
  EXPECT_EQ(bad, std::vector<int32_t>{1});
}

TEST(BlockPoolDeathTest, OverAllocationIsABug) {
  BlockPool pool(1);
  pool.allocate(1);
  EXPECT_DEATH(pool.allocate(1), "allocate");
}

}  // namespace
}  // namespace pdserve::kv
