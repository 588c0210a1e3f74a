// AsyncQueue<T>: values handed from any thread to one coroutine that awaits
// them in order, e.g. an engine request's outputs to the coroutine serving
// it.
//
//   AsyncQueue<Result<RequestOutput>> outputs;
//   sink = [&](Result<RequestOutput> out) { outputs.push(std::move(out)); };  // loop thread
//   Result<RequestOutput> out = co_await outputs.pop();                      // the coroutine
//
// push() resumes a waiting coroutine inside the push, on the pushing thread.
// Thread-safety: push from any thread; one coroutine pops, one pop at a time.
#pragma once

#include <coroutine>
#include <deque>
#include <mutex>
#include <utility>

namespace pdserve {

template <typename T>
class AsyncQueue {
 public:
  void push(T value) {
    std::coroutine_handle<> waiting;
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(std::move(value));
      waiting = std::exchange(waiting_, {});
    }
    if (waiting) waiting.resume();
  }

  // Awaits the next value.
  auto pop() {
    struct Awaiter {
      AsyncQueue& q;
      bool await_ready() {
        std::lock_guard<std::mutex> lock(q.mu_);
        return !q.items_.empty();
      }
      bool await_suspend(std::coroutine_handle<> handle) {
        std::lock_guard<std::mutex> lock(q.mu_);
        if (!q.items_.empty()) return false;
        q.waiting_ = handle;
        return true;
      }
      T await_resume() {
        std::lock_guard<std::mutex> lock(q.mu_);
        T value = std::move(q.items_.front());
        q.items_.pop_front();
        return value;
      }
    };
    return Awaiter{*this};
  }

 private:
  std::mutex mu_;
  std::deque<T> items_;
  std::coroutine_handle<> waiting_;
};

}  // namespace pdserve
