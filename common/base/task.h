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
// A coroutine body should not throw (STYLE.md: handlers never throw); one
// that does ends that coroutine, never the process: an awaited Task rethrows
// the exception to its awaiter (at the co_await), a spawned one hands it to
// the handler given to spawn() (by default: logged, one line) and frees its
// frame. A service spawning a request's coroutine passes a handler that ends
// the request with a clean error and frees what it holds.
// GCC 12 destroys a lambda or a braced temporary (`T{...}`) that is built
// inside a co_await expression twice (a shared_ptr it captured is released
// twice): build such values as named locals first and pass them moved;
// values returned by function calls are safe.
// Thread-safety: a Task is awaited or spawned once, by one thread.
#pragma once

#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace pdserve {

template <typename T = void>
class Task;

namespace task_internal {

// What spawn() does with an exception that escaped the task when no handler
// was given: logs it (task.cpp).
void log_escaped(const std::exception_ptr& error) noexcept;

struct PromiseBase {
  std::coroutine_handle<> continuation;              // the awaiting coroutine; none when spawned
  bool detached = false;                             // spawned: the frame frees itself at the end
  std::exception_ptr error;                          // escaped the body
  std::function<void(std::exception_ptr)> on_error;  // spawned: gets `error`

  std::suspend_always initial_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
  void rethrow_if_failed() const {
    if (error) std::rethrow_exception(error);
  }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) noexcept {
      PromiseBase& p = h.promise();
      if (p.continuation) return p.continuation;  // its await_resume rethrows `error`
      if (p.detached) {
        if (p.error && p.on_error) {
          p.on_error(p.error);  // noexcept context: a handler that throws terminates
        } else if (p.error) {
          log_escaped(p.error);
        }
        h.destroy();
      }
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
  T take() {
    rethrow_if_failed();
    return std::move(*value);
  }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object();
  void return_void() {}
  void take() { rethrow_if_failed(); }
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
  friend void spawn(Task<void> task, std::function<void(std::exception_ptr)> on_error);
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
// and its frame is freed when it ends. An exception that escapes it goes to
// `on_error` (on the thread the task ran on; it must not throw), or is
// logged when there is none.
inline void spawn(Task<void> task, std::function<void(std::exception_ptr)> on_error = nullptr) {
  auto h = std::exchange(task.handle_, {});
  h.promise().detached = true;
  h.promise().on_error = std::move(on_error);
  h.resume();
}

// What an exception says (its what(), or that it is not a std::exception).
std::string exception_message(const std::exception_ptr& error);

}  // namespace pdserve
