// Task<T>: a coroutine that returns a T, for code that reads top to bottom
// while it waits for other threads (the engine loop, the HTTP client, a KV
// transfer). A Task starts when it is awaited (by another coroutine) or
// spawned (by plain code); it then runs on the caller's thread until its
// first wait, and after each wait on the thread that ended the wait (an
// awaitable's contract says which).
//
//   Task<int> answer() { Status s = co_await something(); co_return s.ok() ? 42 : 0; }
//   Task<> serve(std::shared_ptr<Call> call) { int a = co_await answer(); ... }
//   spawn(serve(call));  // runs until its first wait, frees itself when it ends
//
// A coroutine body must not throw (STYLE.md: handlers never throw): an
// exception that escapes one terminates the process.
// GCC 12 destroys a lambda or a braced temporary (`T{...}`) that is built
// inside a co_await expression twice (a shared_ptr it captured is released
// twice): build such values as named locals first and pass them moved;
// values returned by function calls are safe.
// Thread-safety: a Task is awaited or spawned once, by one thread.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace pdserve {

template <typename T = void>
class Task;

namespace task_internal {

struct PromiseBase {
  std::coroutine_handle<> continuation;  // the awaiting coroutine; none when spawned
  bool detached = false;                 // spawned: the frame frees itself at the end

  std::suspend_always initial_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { std::terminate(); }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      PromiseBase& p = h.promise();
      if (p.continuation) return p.continuation;
      if (p.detached) h.destroy();
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
};

template <typename T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object();
  void return_value(T v) { value.emplace(std::move(v)); }
  T take() { return std::move(*value); }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object();
  void return_void() {}
  void take() {}
};

}  // namespace task_internal

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = task_internal::Promise<T>;

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  // co_await task: runs it; the awaiting coroutine goes on when it returned.
  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> handle;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        handle.promise().continuation = awaiting;
        return handle;
      }
      T await_resume() { return handle.promise().take(); }
    };
    return Awaiter{handle_};
  }

 private:
  friend struct task_internal::Promise<T>;
  friend void spawn(Task<void> task);
  explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

namespace task_internal {
template <typename T>
Task<T> Promise<T>::get_return_object() {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
}  // namespace task_internal

// Starts a task nobody awaits: it runs on this thread until its first wait,
// and its frame is freed when it ends.
inline void spawn(Task<void> task) {
  auto h = std::exchange(task.handle_, {});
  h.promise().detached = true;
  h.resume();
}

}  // namespace pdserve
