// PD_LOG_FAILED_ONCE: for cleanup that must neither throw nor abort
// (destructors, deleters). Evaluates `call`, a C API's status; when it is
// not `ok`, runs `describe(status)` (a function that may also clear the
// API's error state) and logs one ERROR line naming the call, the first time
// this line fails only (a dying device fails every later call too). Yields
// true when the call succeeded.
//
//   if (PD_LOG_FAILED_ONCE(cudaSetDevice(d), cudaSuccess, describe)) ...
//
// Thread-safe.
#pragma once

#include <atomic>

#include "common/base/logging.h"

#define PD_LOG_FAILED_ONCE(call, ok, describe)                                       \
  ([&]() -> bool {                                                                   \
    static std::atomic<bool> pd_failed_before_{false};                               \
    const auto pd_status_ = (call);                                                  \
    if (pd_status_ == (ok)) return true;                                             \
    const auto pd_what_ = describe(pd_status_);                                      \
    if (!pd_failed_before_.exchange(true)) {                                         \
      PD_LOG(ERROR) << #call << " failed (logged once, then ignored): " << pd_what_; \
    }                                                                                \
    return false;                                                                    \
  }())
