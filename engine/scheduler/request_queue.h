// The waiting queue: WAITING and SWAPPED requests in service order,
// (priority, arrival) ascending. Tracks its size in requests and tokens for
// the admission limits. Holds pointers it does not own. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "engine/scheduler/request.h"

namespace pdserve::scheduler {

class RequestQueue {
 public:
  void push(Request* request);
  void erase(Request* request);  // no-op when absent
  bool contains(const Request* request) const;

  size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }
  int64_t num_tokens() const { return num_tokens_; }
  // A snapshot in service order (safe to erase while walking it).
  std::vector<Request*> ordered() const;

 private:
  using Key = std::pair<int, uint64_t>;  // (priority, arrival)
  struct Entry {
    Request* request;
    int num_tokens;  // counted at push
  };
  std::map<Key, Entry> queue_;
  int64_t num_tokens_ = 0;
};

}  // namespace pdserve::scheduler
