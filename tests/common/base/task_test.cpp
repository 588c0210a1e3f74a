// Task and spawn: values pass up a chain of awaited tasks, a spawned task
// runs at once until its first wait and frees its frame when it ends, and an
// exception that escapes a task reaches its awaiter or spawn's handler,
// never std::terminate.
#include "common/base/task.h"

#include <gtest/gtest.h>

#include <coroutine>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>

namespace pdserve {
namespace {

// Suspends the awaiting coroutine and keeps its handle, so the test decides
// when (and on which thread) it goes on.
struct Gate {
  std::coroutine_handle<> waiting;
  auto wait() {
    struct Awaiter {
      Gate& gate;
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) noexcept { gate.waiting = h; }
      void await_resume() noexcept {}
    };
    return Awaiter{*this};
  }
  void open() { std::exchange(waiting, {}).resume(); }
};

Task<int> twice(Gate& gate, int x) {
  co_await gate.wait();
  co_return 2 * x;
}

Task<std::string> describe(Gate& gate, int x) {
  const int a = co_await twice(gate, x);
  const int b = co_await twice(gate, a);
  co_return std::to_string(a) + "," + std::to_string(b);
}

TEST(Task, ValuesPassUpAChainOfAwaitedTasks) {
  Gate gate;
  std::string got;
  auto run = [](Gate& g, std::string& out) -> Task<> { out = co_await describe(g, 5); };
  spawn(run(gate, got));
  EXPECT_TRUE(got.empty());  // waiting at the first gate
  gate.open();
  EXPECT_TRUE(got.empty());  // the second
  gate.open();
  EXPECT_EQ(got, "10,20");
  EXPECT_FALSE(gate.waiting);
}

TEST(Task, SpawnRunsToTheFirstWaitAndFreesTheFrameAtTheEnd) {
  Gate gate;
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  int steps = 0;
  auto run = [](std::shared_ptr<int> held, Gate& g, int& n) -> Task<> {
    n += 1 + *held;
    co_await g.wait();
    ++n;
  };
  spawn(run(std::move(alive), gate, steps));
  EXPECT_EQ(steps, 1);
  EXPECT_FALSE(watch.expired());  // the suspended frame holds it
  gate.open();
  EXPECT_EQ(steps, 2);
  EXPECT_TRUE(watch.expired());  // the frame is gone with its parameters
}

TEST(Task, ATaskThatIsNeverStartedFreesItsFrame) {
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  {
    auto run = [](std::shared_ptr<int>) -> Task<> { co_return; };
    Task<> never = run(std::move(alive));
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_TRUE(watch.expired());
}

Task<int> fails_after(Gate& gate) {
  co_await gate.wait();
  throw std::runtime_error("bad input");
}

TEST(Task, AnExceptionReachesTheAwaitingCoroutine) {
  Gate gate;
  std::string caught;
  int after = 0;
  auto run = [](Gate& g, std::string& why, int& n) -> Task<> {
    try {
      n = co_await fails_after(g);
    } catch (const std::runtime_error& e) {
      why = e.what();
    }
    ++n;  // the awaiting coroutine goes on
  };
  spawn(run(gate, caught, after), [](std::exception_ptr) { ADD_FAILURE() << "caught above"; });
  gate.open();
  EXPECT_EQ(caught, "bad input");
  EXPECT_EQ(after, 1);
}

TEST(Task, ASpawnedTaskThatThrowsGoesToItsHandlerAndFreesItsFrame) {
  Gate gate;
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  std::string reported;
  auto run = [](std::shared_ptr<int>, Gate& g) -> Task<> { (void)co_await fails_after(g); };
  spawn(run(std::move(alive), gate),
        [&](std::exception_ptr e) { reported = exception_message(e); });
  EXPECT_TRUE(reported.empty());
  gate.open();  // throws on this thread, inside the awaited task
  EXPECT_EQ(reported, "bad input");
  EXPECT_TRUE(watch.expired());
}

TEST(Task, WithoutAHandlerTheExceptionIsLoggedAndTheProcessGoesOn) {
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  auto run = [](std::shared_ptr<int>) -> Task<> {
    throw 42;  // not even a std::exception
    co_return;
  };
  spawn(run(std::move(alive)));
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(exception_message(std::make_exception_ptr(42)),
            "an exception that is not a std::exception");
}

}  // namespace
}  // namespace pdserve
