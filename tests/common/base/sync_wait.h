// sync_wait(awaitable): for tests, which call coroutine APIs from plain
// threads: awaits `awaitable` (an awaitable or a Task) in a spawned Task and
// blocks until it ended; an exception it threw is rethrown here.
#pragma once

#include <coroutine>
#include <future>
#include <memory>
#include <type_traits>
#include <utility>

#include "common/base/task.h"

namespace pdserve {

template <typename Awaitable>
struct AwaitResult {
  using type = decltype(std::declval<Awaitable&>().await_resume());
  // Awaited in place, through a reference (GCC 12 would copy an lvalue).
  struct Ref {
    Awaitable& a;
    bool await_ready() { return a.await_ready(); }
    auto await_suspend(std::coroutine_handle<> h) { return a.await_suspend(h); }
    type await_resume() { return a.await_resume(); }
  };
  static Ref awaitable(Awaitable& a) { return Ref{a}; }
};
template <typename T>
struct AwaitResult<Task<T>> {
  using type = T;
  static Task<T>&& awaitable(Task<T>& t) { return std::move(t); }  // a Task is awaited as an rvalue
};

template <typename Awaitable>
auto sync_wait(Awaitable&& awaitable) {
  using Traits = AwaitResult<std::remove_cvref_t<Awaitable>>;
  using T = typename Traits::type;
  auto done = std::make_shared<std::promise<T>>();
  std::future<T> result = done->get_future();
  auto run = [](Awaitable& a, std::shared_ptr<std::promise<T>> p) -> Task<> {
    try {
      if constexpr (std::is_void_v<T>) {
        co_await Traits::awaitable(a);
        p->set_value();
      } else {
        p->set_value(co_await Traits::awaitable(a));
      }
    } catch (...) {
      p->set_exception(std::current_exception());  // get() rethrows it
    }
  };
  spawn(run(awaitable, done));
  return result.get();
}

}  // namespace pdserve
