// CallbackAwaitable: a callback that runs at once lets the coroutine go on
// without suspending; one that runs later on another thread resumes it
// there; racing the two resumes exactly once.
#include "common/base/callback_awaitable.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "common/base/task.h"

namespace pdserve {
namespace {

// Awaitables are built by functions: a lambda written inside a co_await
// expression is destroyed twice by GCC 12 (task.h).
CallbackAwaitable<int> at_once(int value) {
  return CallbackAwaitable<int>([value](auto done) { done(value); });
}

CallbackAwaitable<int> kept(CallbackAwaitable<int>::Done& keep) {
  return CallbackAwaitable<int>([&keep](auto done) { keep = std::move(done); });
}

CallbackAwaitable<int> from_another_thread(int value) {
  return CallbackAwaitable<int>(
      [value](auto done) { std::thread([done, value] { done(value); }).detach(); });
}

TEST(CallbackAwaitable, ACallbackThatRunsAtOnceGoesOnOnTheSameThread) {
  std::thread::id resumed_on;
  int got = 0;
  auto run = [](std::thread::id& on, int& out) -> Task<> {
    out = co_await at_once(7);
    on = std::this_thread::get_id();
  };
  spawn(run(resumed_on, got));
  EXPECT_EQ(got, 7);
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(CallbackAwaitable, ALaterCallbackResumesOnItsThread) {
  CallbackAwaitable<int>::Done pending;
  std::promise<std::thread::id> resumed_on;
  int got = 0;
  auto run = [](CallbackAwaitable<int>::Done& keep, std::promise<std::thread::id>& on,
                int& out) -> Task<> {
    out = co_await kept(keep);
    on.set_value(std::this_thread::get_id());
  };
  spawn(run(pending, resumed_on, got));
  ASSERT_TRUE(pending);
  EXPECT_EQ(got, 0);  // suspended
  std::thread other([&] { pending(42); });
  const std::thread::id other_id = other.get_id();
  EXPECT_EQ(resumed_on.get_future().get(), other_id);
  other.join();
  EXPECT_EQ(got, 42);
}

TEST(CallbackAwaitable, ACallbackRacingTheSuspensionResumesExactlyOnce) {
  for (int i = 0; i < 2000; ++i) {
    auto resumed = std::make_shared<std::atomic<int>>(0);
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> ended = done->get_future();
    auto run = [](std::shared_ptr<std::atomic<int>> n,
                  std::shared_ptr<std::promise<void>> d) -> Task<> {
      (void)co_await from_another_thread(1);
      if (n->fetch_add(1) == 0) d->set_value();
    };
    spawn(run(resumed, done));
    ended.wait();
    EXPECT_EQ(resumed->load(), 1);
  }
}

}  // namespace
}  // namespace pdserve
