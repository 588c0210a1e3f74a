#include "common/base/task.h"

#include "common/base/logging.h"

namespace pdserve {

std::string exception_message(const std::exception_ptr& error) {
  if (!error) return "no exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

namespace task_internal {

void log_escaped(const std::exception_ptr& error) noexcept {
  PD_LOG(ERROR) << "a spawned task ended with an exception: " << exception_message(error);
}

}  // namespace task_internal
}  // namespace pdserve
