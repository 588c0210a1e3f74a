// Status and Result<T>: how every module API reports failure (no exceptions
// cross module boundaries, STYLE.md). A Status is a code plus a one-line
// message that names the problem; Result<T> holds either a value or a
// non-ok Status. Both are cheap to move and safe to copy.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace pdserve {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something wrong (bad input, bad file)
  kNotFound,         // a named thing does not exist
  kAlreadyExists,
  kOutOfRange,          // an index or length outside its bounds
  kFailedPrecondition,  // the system is not in a state that allows this
  kResourceExhausted,   // out of memory, blocks, queue space
  kUnavailable,         // a peer or service cannot be reached now; retry may help
  kDeadlineExceeded,
  kCancelled,
  kAborted,  // a concurrent event (peer died, epoch moved) stopped this
  kUnauthenticated,
  kPermissionDenied,
  kUnimplemented,
  kDataLoss,  // corrupt or truncated data
  kInternal,  // a bug: an invariant did not hold
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message", or "OK".
  std::string to_string() const;

  // Returns a copy whose message is "context: message" (code kept).
  Status with_context(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status ok_status() {
  return Status();
}
inline Status invalid_argument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status not_found(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status already_exists(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status out_of_range(std::string m) {
  return {StatusCode::kOutOfRange, std::move(m)};
}
inline Status failed_precondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status resource_exhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status unavailable(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
inline Status deadline_exceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status cancelled(std::string m) {
  return {StatusCode::kCancelled, std::move(m)};
}
inline Status aborted(std::string m) {
  return {StatusCode::kAborted, std::move(m)};
}
inline Status unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status permission_denied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status unimplemented(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}
inline Status data_loss(std::string m) {
  return {StatusCode::kDataLoss, std::move(m)};
}
inline Status internal_error(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}

// Either a T or a non-ok Status. Accessing value() of an error is a bug and
// aborts (PD_CHECK), so callers test ok() first or use PD_ASSIGN_OR_RETURN.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok())
      v_ = Status(StatusCode::kInternal, "Result built from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    check_ok();
    return std::get<T>(v_);
  }
  const T& value() const& {
    check_ok();
    return std::get<T>(v_);
  }
  T&& value() && {
    check_ok();
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check_ok() const;
  std::variant<T, Status> v_;
};

[[noreturn]] void die_on_bad_result_access(const Status& status);

template <typename T>
void Result<T>::check_ok() const {
  if (!ok()) die_on_bad_result_access(std::get<Status>(v_));
}

}  // namespace pdserve

#define PD_STATUS_CONCAT_INNER(a, b) a##b
#define PD_STATUS_CONCAT(a, b) PD_STATUS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when expr is not ok.
#define PD_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::pdserve::Status pd_status_ = (expr);   \
    if (!pd_status_.ok()) return pd_status_; \
  } while (0)

// `PD_ASSIGN_OR_RETURN(auto x, make_x());` declares x from a Result, or
// returns its Status from the enclosing function.
#define PD_ASSIGN_OR_RETURN(lhs, expr) \
  PD_ASSIGN_OR_RETURN_IMPL(PD_STATUS_CONCAT(pd_result_, __LINE__), lhs, expr)
#define PD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
