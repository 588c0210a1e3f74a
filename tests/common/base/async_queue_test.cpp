// AsyncQueue: values come out in order whether they were pushed before the
// coroutine waited or while it waited; a push from another thread resumes
// the coroutine on that thread.
#include "common/base/async_queue.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/base/task.h"

namespace pdserve {
namespace {

Task<> take(AsyncQueue<int>& q, int n, std::vector<int>& out, std::thread::id& last_on) {
  for (int i = 0; i < n; ++i) {
    out.push_back(co_await q.pop());
    last_on = std::this_thread::get_id();
  }
}

TEST(AsyncQueue, ValuesComeOutInOrderBeforeAndWhileWaiting) {
  AsyncQueue<int> q;
  std::vector<int> got;
  std::thread::id on;
  q.push(1);
  q.push(2);
  spawn(take(q, 4, got, on));
  EXPECT_EQ(got, (std::vector<int>{1, 2}));  // now waiting for the third
  q.push(3);
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3}));
  q.push(4);
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 4}));
  q.push(5);  // nobody waits: kept
  EXPECT_EQ(got.size(), 4u);
}

TEST(AsyncQueue, APushFromAnotherThreadResumesThere) {
  AsyncQueue<int> q;
  std::vector<int> got;
  std::thread::id on;
  spawn(take(q, 1, got, on));
  EXPECT_TRUE(got.empty());
  std::thread pusher([&] { q.push(9); });
  const std::thread::id pusher_id = pusher.get_id();
  pusher.join();
  EXPECT_EQ(got, (std::vector<int>{9}));
  EXPECT_EQ(on, pusher_id);
}

TEST(AsyncQueue, AConsumerThatLagsGetsEveryValueOnceInOrder) {
  AsyncQueue<int> q;
  std::vector<int> got;
  std::thread::id on;
  int next = 0;
  for (; next < 200; ++next) q.push(next);
  spawn(take(q, 150, got, on));  // the queue is never empty meanwhile: taken values are dropped
  for (; next < 400; ++next) q.push(next);
  spawn(take(q, 250, got, on));
  ASSERT_EQ(got.size(), 400u);
  for (int i = 0; i < 400; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], i);
}

}  // namespace
}  // namespace pdserve
