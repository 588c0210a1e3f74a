// Fault injection for the request-containment drill (docs/RELIABILITY.md):
// makes one request's coroutine throw, the way a bug would, at the point
// where the request holds KV blocks, so that tests and operators can watch
// the worker end that request with a clean error, free its blocks and keep
// serving. Off unless configured.
//
//   PDSERVE_REQUEST_FAULT=<n>   (n >= 1) the n-th request of each worker throws
//
// Thread-safety: maybe_throw() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "common/base/status.h"

namespace pdserve::worker {

// Parses "<n>"; kInvalidArgument, naming the text, otherwise.
Result<int64_t> parse_request_fault(std::string_view text);
// PDSERVE_REQUEST_FAULT parsed; 0 (off) when it is unset or empty.
Result<int64_t> request_fault_from_env();

class RequestFault {
 public:
  explicit RequestFault(int64_t at) : at_(at) {}
  // Throws std::runtime_error on the at-th call (0: never).
  void maybe_throw();

 private:
  const int64_t at_;
  std::atomic<int64_t> num_calls_{0};
};

}  // namespace pdserve::worker
