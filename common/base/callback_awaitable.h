// CallbackAwaitable<T>: turns an operation that reports its result through a
// callback into something a coroutine awaits. The operation is started when
// the coroutine waits; its callback may run at once, on the waiting thread
// (the coroutine then goes on without suspending), or later on any thread
// (the coroutine is resumed there, inside the callback).
//
//   CallbackAwaitable<Status> landed(uint64_t epoch) {
//     return CallbackAwaitable<Status>([=](auto done) { expect(epoch, std::move(done)); });
//   }
//   Status s = co_await landed(7);
//
// The operation must call `done` exactly once. Thread-safety: the callback
// may race with the suspension; whichever comes second resumes.
#pragma once

#include <atomic>
#include <coroutine>
#include <functional>
#include <optional>
#include <utility>

namespace pdserve {

template <typename T>
class [[nodiscard]] CallbackAwaitable {
 public:
  using Done = std::function<void(T)>;
  using Start = std::function<void(Done)>;

  explicit CallbackAwaitable(Start start) : start_(std::move(start)) {}

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> handle) {
    handle_ = handle;
    start_([this](T value) {
      result_.emplace(std::move(value));
      // Second to arrive: the coroutine has suspended, resume it here.
      if (arrived_.exchange(true, std::memory_order_acq_rel)) handle_.resume();
    });
    // Second to arrive: the result is there already, go on without suspending.
    return !arrived_.exchange(true, std::memory_order_acq_rel);
  }
  T await_resume() { return std::move(*result_); }

 private:
  Start start_;
  std::coroutine_handle<> handle_;
  std::optional<T> result_;
  std::atomic<bool> arrived_{false};
};

}  // namespace pdserve
