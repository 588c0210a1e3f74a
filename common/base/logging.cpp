#include "common/base/logging.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include "common/base/check_scope.h"

namespace pdserve {
namespace {

LogLevel initial_level() {
  LogLevel level = LogLevel::kInfo;
  if (const char* env = std::getenv("PDSERVE_LOG_LEVEL")) parse_log_level(env, &level);
  return level;
}

std::atomic<LogLevel>& level_ref() {
  static std::atomic<LogLevel> level{initial_level()};
  return level;
}

char level_letter(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return 'D';
    case LogLevel::kInfo: return 'I';
    case LogLevel::kWarn: return 'W';
    case LogLevel::kError: return 'E';
    case LogLevel::kFatal: return 'F';
  }
  return '?';
}

std::string_view basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

void set_log_level(LogLevel level) {
  level_ref().store(level);
}
LogLevel log_level() {
  return level_ref().load(std::memory_order_relaxed);
}

bool parse_log_level(std::string_view name, LogLevel* level) {
  if (name == "debug")
    *level = LogLevel::kDebug;
  else if (name == "info")
    *level = LogLevel::kInfo;
  else if (name == "warn" || name == "warning")
    *level = LogLevel::kWarn;
  else if (name == "error")
    *level = LogLevel::kError;
  else
    return false;
  return true;
}

namespace detail {

LogMessage::LogMessage(LogLevel level, const char* file, int line) : level_(level) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
  char msec[8];
  std::snprintf(msec, sizeof(msec), ".%03d", static_cast<int>(ms));
  out_ << level_letter(level) << ' ' << stamp << msec << ' ' << basename(file) << ':' << line
       << "] ";
}

LogMessage::~LogMessage() noexcept(false) {
  out_ << '\n';
  std::string s = out_.str();
  ssize_t ignored = ::write(STDERR_FILENO, s.data(), s.size());
  (void)ignored;
  if (level_ != LogLevel::kFatal) return;
  // Inside a RecoverableChecks scope the failed check fails only that work.
  if (checks_recoverable()) throw CheckFailure(s.substr(0, s.size() - 1));
  std::abort();
}

}  // namespace detail
}  // namespace pdserve
