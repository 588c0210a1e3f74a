// Fault injection for the request-containment drills (docs/RELIABILITY.md):
// makes one request's coroutine throw, the way a bug would, so that tests and
// operators can watch the process end that request with a clean error and
// keep serving. Off unless configured, by an environment variable of the
// process that throws:
//
//   PDSERVE_REQUEST_FAULT=<n>  (workers) the n-th request of each worker
//                              throws once it holds KV blocks
//   PDSERVE_ROUTER_FAULT=<n>   (router) the n-th streamed request throws
//                              once its first chunk went out
//
// Thread-safety: maybe_throw() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/base/status.h"

namespace pdserve {

inline constexpr char kWorkerFaultEnv[] = "PDSERVE_REQUEST_FAULT";
inline constexpr char kRouterFaultEnv[] = "PDSERVE_ROUTER_FAULT";

// Parses "<n>" given as variable `name`; kInvalidArgument, naming both, otherwise.
Result<int64_t> parse_request_fault(std::string_view name, std::string_view text);
// The variable `name` parsed; 0 (off) when it is unset or empty.
Result<int64_t> request_fault_from_env(const char* name);

class RequestFault {
 public:
  // `name`: the variable that set it, named in the exception's message.
  RequestFault(int64_t at, std::string name) : at_(at), name_(std::move(name)) {}
  // Throws std::runtime_error ("injected request fault (<name>)") on the
  // at-th call (0: never).
  void maybe_throw();

 private:
  const int64_t at_;
  const std::string name_;
  std::atomic<int64_t> num_calls_{0};
};

}  // namespace pdserve
