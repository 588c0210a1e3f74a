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
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

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
        return q.head_idx_ < q.items_.size();
      }
      bool await_suspend(std::coroutine_handle<> handle) {
        std::lock_guard<std::mutex> lock(q.mu_);
        if (q.head_idx_ < q.items_.size()) return false;
        q.waiting_ = handle;
        return true;
      }
      T await_resume() {
        std::lock_guard<std::mutex> lock(q.mu_);
        T value = std::move(q.items_[q.head_idx_++]);
        if (q.head_idx_ == q.items_.size()) {  // drained: the storage is reused
          q.items_.clear();
          q.head_idx_ = 0;
        } else if (q.head_idx_ >= kCompactAt && 2 * q.head_idx_ >= q.items_.size()) {
          // A consumer that lags: the values taken go, so memory stays bounded.
          q.items_.erase(q.items_.begin(), q.items_.begin() + static_cast<ptrdiff_t>(q.head_idx_));
          q.head_idx_ = 0;
        }
        return value;
      }
    };
    return Awaiter{*this};
  }

 private:
  static constexpr size_t kCompactAt = 64;

  std::mutex mu_;
  // Values from head_idx_ on are queued. A vector, not a deque: a value
  // handed straight to a waiting coroutine (one a token, in the router)
  // allocates nothing once the vector has its capacity.
  std::vector<T> items_;
  size_t head_idx_ = 0;
  std::coroutine_handle<> waiting_;
};

}  // namespace pdserve
